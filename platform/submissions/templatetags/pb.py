"""Template helpers for readable pages: times with their zone, inline code in help texts."""
import re
from datetime import datetime

from django import template
from django.utils import timezone
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

register = template.Library()


@register.filter
def when(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> SafeString | str:
    """`<time datetime="…">2026-11-30 14:05 UTC</time>`: always with its zone (the platform's
    times are UTC); static/js/localtime.js adds the reader's local time as a tooltip. Empty for None."""
    if value is None:
        return ""
    value = timezone.localtime(value, timezone.get_fixed_timezone(0)) if timezone.is_aware(value) else value
    return format_html('<time datetime="{}">{} UTC</time>', value.isoformat(), value.strftime(fmt))


def inline_code(text: str) -> SafeString:
    """Markdown's inline code (`…`) as <code>, everything else escaped: help texts are written with
    backticks and must not show them literally."""
    parts = re.split(r"`([^`]+)`", str(text))
    return mark_safe("".join(f"<code>{escape(p)}</code>" if i % 2 else escape(p) for i, p in enumerate(parts)))


register.filter("inline_code", inline_code)
