"""Server-rendered SVG step chart of the best proven accuracy over time."""
from datetime import datetime

from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

W, H, PAD_L, PAD_R, PAD_T, PAD_B = 640, 220, 64, 16, 16, 36


def _label(when: datetime) -> str:
    return escape(timezone.localtime(when, timezone.get_fixed_timezone(0)).strftime("%Y-%m-%d %H:%M UTC"))


def accuracy_chart_svg(points: list[tuple[datetime, float]], now: datetime | None = None) -> SafeString:
    """An accessible inline SVG; an empty-state message when there are no points.

    The time axis runs from the first point to now (the best accuracy holds until the next
    improvement), so one point still spans the chart and its two end labels differ; when they
    would print the same minute, only one is printed."""
    if not points:
        return mark_safe('<p class="muted">No verified entries yet.</p>')
    now = now or timezone.now()
    t0 = points[0][0].timestamp()
    t1 = max(points[-1][0].timestamp(), now.timestamp(), t0 + 1)
    end = points[-1][0] if points[-1][0].timestamp() >= now.timestamp() else now
    lo = max(0.0, min(acc for _, acc in points) - 5)
    hi = 100.0

    def x(ts: float) -> float:
        return PAD_L + (ts - t0) / (t1 - t0) * (W - PAD_L - PAD_R)

    def y(acc: float) -> float:
        return PAD_T + (hi - acc) / max(hi - lo, 1e-9) * (H - PAD_T - PAD_B)

    path = []
    for i, (when, acc) in enumerate(points):
        px, py = x(when.timestamp()), y(acc)
        if i == 0:
            path.append(f"M{px:.1f},{py:.1f}")
        else:
            path.append(f"H{px:.1f}V{py:.1f}")
    path.append(f"H{W - PAD_R:.1f}")
    parts = [
        f'<svg class="chart" viewBox="0 0 {W} {H}" role="img" aria-label="Best proven accuracy over time" '
        f'xmlns="http://www.w3.org/2000/svg">',
        f'<line x1="{PAD_L}" y1="{H - PAD_B}" x2="{W - PAD_R}" y2="{H - PAD_B}" class="axis"/>',
        f'<line x1="{PAD_L}" y1="{PAD_T}" x2="{PAD_L}" y2="{H - PAD_B}" class="axis"/>',
    ]
    for tick in (lo, (lo + hi) / 2, hi):
        parts.append(f'<text x="{PAD_L - 6}" y="{y(tick) + 4:.1f}" text-anchor="end" class="tick">{tick:.0f}%</text>')
    parts.append(f'<text x="{PAD_L}" y="{H - 12}" class="tick">{_label(points[0][0])}</text>')
    if _label(end) != _label(points[0][0]):
        parts.append(f'<text x="{W - PAD_R}" y="{H - 12}" text-anchor="end" class="tick">{_label(end)}</text>')
    parts.append(f'<path d="{" ".join(path)}" class="line"/>')
    for when, acc in points:
        parts.append(
            f'<circle cx="{x(when.timestamp()):.1f}" cy="{y(acc):.1f}" r="3.5" class="dot">'
            f"<title>{acc:.2f}% at {_label(when)}</title></circle>"
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))
