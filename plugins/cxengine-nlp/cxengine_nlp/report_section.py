"""The Themes section of `cxengine report`, contributed through `register_report_sections`.

What customers talk about, per touchpoint: a theme × touchpoint heat map (colour:
what is said about the theme, −1…1; label: share of comments mentioning it), the
theme drivers (NPS of comments with and without the theme, the NPS points the theme
costs), the drivers of low scores (the same, counting only complaints about the theme)
and a few example comments per theme. The numbers are those of `cxengine
themes`: the same kinds over the dataset, with tags from the cache the run filled.
"""

from __future__ import annotations

from typing import Any

TOP = 100  # every theme in every column of the heat map: a blank cell means no mention
EXAMPLES = 2

TEMPLATE = """
{% macro driver_table(rows, counted) %}
<table>
<thead><tr><th>theme</th><th class="num">{{ counted }}</th><th class="num">{{ measure }} with</th>
<th class="num">without</th><th class="num">gap</th><th class="num">points lost</th></tr>
</thead>
<tbody>
{% for d in rows %}
<tr><td>{{ d.theme }}</td>
<td class="num">{{ d.n_with | thousands }}{% if d.n_with < min_n %}
  <span class="badge low">low n</span>{% endif %}</td>
<td class="num">{{ d.with_value | num }}</td><td class="num">{{ d.without_value | num }}</td>
<td class="num">{{ d.gap | num }}{% if d.gap_low is not none %}
  <span class="small">[{{ d.gap_low | num }}, {{ d.gap_high | num }}]</span>{% endif %}</td>
<td class="num">{{ d.cost | num }}</td></tr>
{% endfor %}
</tbody>
</table>
{% endmacro %}
<p class="hint">{{ ov.comments | thousands }} tagged comments of
<code>{{ ov.dataset }}.{{ ov.field }}</code>. Colour: what comments say about the theme
(−1 negative … +1 positive); label: share of the {% if ov.by %}{{ ov.by }}'s {% endif %}
comments that mention it. Computed when this report was written, from the dataset and
the tags the run cached.</p>
{% if learning %}{% set d = learning.details or {} %}
<h3>Sentiment learned from scores</h3>
{% if d.used %}
<p>Sentiment and labels come from a model trained on this project's own scored comments
({{ d.scale }} scale: negative {{ d.cut_points.negative }}, positive
{{ d.cut_points.positive }}), combined with the lexicon. Per class:
{% for c, n in d.counts.items() %}{{ c }} {{ n | thousands }}{{ ", " if not loop.last }}
{% endfor %}. {{ d.folds }}-fold cross-validated macro-F1 on
{{ d.cv_rows | thousands }} comments: <strong>{{ "%.3f" | format(d.cv_macro_f1) }}</strong>,
the lexicon alone {{ "%.3f" | format(d.lexicon_macro_f1) }}
({{ "%+.3f" | format(d.cv_macro_f1 - d.lexicon_macro_f1) }}). F1 per class:
{% for c, f in d.per_class_f1.items() %}{{ c }} {{ "%.2f" | format(f) }}{{ ", " if not loop.last }}
{% endfor %}.</p>
<p class="hint">Scores are noisy labels of a comment (a detractor may write a neutral
sentence), so these figures measure agreement with the scores, not with readers.</p>
{% else %}
<p>Not learned: {{ d.reason }}. The lexicon scores every comment.</p>
{% endif %}
{% endif %}
{{ heatmap }}
{% if drivers %}
<h3>Theme drivers</h3>
<p class="hint">{{ measure }} of respondents whose comment mentions the theme vs those
whose comment does not{% if ov.overall_nps is not none %} (overall NPS
{{ ov.overall_nps | num }}){% endif %}; points lost: how much higher the overall NPS
would be if the theme's respondents scored like the others.</p>
{{ driver_table(drivers, "mentions") }}
{% endif %}
{% if negative_drivers %}
<h3>Drivers of low scores</h3>
<p class="hint">The same comparison, counting a theme only where the comment speaks
negatively about it (theme sentiment ≤ −0.15, {{ "learned from scores" if
ov.sentiment_source == "learned" else "from the lexicon" }}): a theme people praise does
not pull scores down however often it is mentioned.</p>
{{ driver_table(negative_drivers, "negative mentions") }}
{% endif %}
<h3>Example comments</h3>
{% for theme, items in examples %}
<p><strong>{{ theme }}</strong></p>
<ul class="examples">
{% for text, score in items %}
<li>{{ text | truncate(240) }} <span class="small">({{ "%+.2f" | format(score) }})</span></li>
{% endfor %}
</ul>
{% endfor %}
"""


class ThemesSection:
    """Themes × touchpoints, drivers and examples, when the run's comments were tagged."""

    name = "themes"
    title = "Themes"
    order = 60

    def render(self, context: Any) -> Any:
        """Return the section, or None when there is no project or no tagged comments."""
        from cxengine_nlp.report import comment_datasets, theme_overview

        project, registry = context.project, context.registry
        if project is None or registry is None or not comment_datasets(project):
            return None
        overview = theme_overview(project, registry, top=TOP, examples=EXAMPLES)
        if not overview.comments:
            return None
        heat = []
        for key, rows in sorted(overview.slices.items()):
            if overview.by and key == "":
                continue
            for r in rows:
                heat.append(
                    {
                        "slice": key or "all",
                        "theme": r.theme,
                        "share": r.share,
                        "sentiment": 0.0 if r.sentiment is None else r.sentiment,
                        "text": f"{r.share:.0f}%",
                    }
                )
        chart = _heatmap(heat, overview.by or "comments")
        examples = [(r.theme, list(r.examples)) for r in overview.slices.get("", []) if r.examples]
        return context.render(
            TEMPLATE,
            ov=overview,
            heatmap=context.chart(chart, "Themes per touchpoint: share and sentiment"),
            drivers=overview.drivers,
            negative_drivers=overview.negative_drivers,
            measure="NPS" if overview.measure == "nps" else (overview.measure or "score"),
            min_n=overview.min_n,
            examples=examples,
            learning=overview.learning,
        )


def _heatmap(rows: list[dict[str, Any]], by: str) -> dict[str, Any]:
    from cxengine.api import heatmap_chart

    chart = heatmap_chart(
        rows, x="slice", y="theme", value="sentiment", title="sentiment", scheme="redblue",
        domain=[-1, 1], text="text", x_title=by,
    )  # fmt: skip
    return chart.spec
