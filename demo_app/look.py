"""The look of the HTML fragments both fronts show (banners, notes, chips, the big number, tables), and
the one bit of browser code both run (bringing a result into view).

One stylesheet for the classes demo_app's fragments use (``fp-…``). It reads
Gradio's theme variables where they exist and falls back to the same indigo and
slate elsewhere (Streamlit), so a banner looks the same on either host.
"""

from __future__ import annotations

import json

__all__ = ["FRAGMENT_CSS", "scroll_into_view_script"]


def scroll_into_view_script(selector: str) -> str:
    """Browser code (statements) that brings the first element matching ``selector`` on screen when it is
    not: on a phone the result is below the form, out of sight of the button that asked for it."""
    return (
        f"const el = document.querySelector({json.dumps(selector)}); if (el) {{"
        " const box = el.getBoundingClientRect();"
        " if (box.top < 0 || box.top > window.innerHeight * 0.6) el.scrollIntoView({block: 'start'}); }"
    )

FRAGMENT_CSS = """
.fp-header h1 { font-size: 1.9rem; margin: 0.2rem 0 0.1rem; letter-spacing: -0.01em; }
.fp-header .fp-kicker { text-transform: uppercase; font-size: 0.75rem; letter-spacing: 0.12em;
  color: var(--primary-600, #4f46e5); font-weight: 600; }
.fp-banner { border-radius: 10px; padding: 0.7rem 1rem; border: 1px solid; font-size: 0.95rem; line-height: 1.45; }
.fp-banner ul { margin: 0.4rem 0 0 1.1rem; }
.fp-ok { background: #f0fdf4; border-color: #bbf7d0; color: #14532d; }
.fp-ok a { color: #166534; font-weight: 600; }
.fp-waking { background: #fffbeb; border-color: #fde68a; color: #78350f; }
.fp-down { background: #fef2f2; border-color: #fecaca; color: #7f1d1d; }
.fp-invalid { background: #fff7ed; border-color: #fed7aa; color: #7c2d12; }
.fp-dot { display: inline-block; width: 0.6rem; height: 0.6rem; border-radius: 50%; background: #22c55e;
  margin-right: 0.45rem; box-shadow: 0 0 0 3px #bbf7d0; }
.fp-progress { height: 6px; background: #fde68a; border-radius: 3px; margin: 0.5rem 0 0.3rem; overflow: hidden; }
.fp-progress > div { height: 100%; background: #d97706; border-radius: 3px; transition: width 0.9s linear; }
.fp-muted { color: var(--body-text-color-subdued, #64748b); }
.fp-small { font-size: 0.8rem; margin-top: 0.2rem; }
.fp-summary h3 { margin: 0 0 0.3rem; font-size: 1.25rem; }
.fp-summary p { margin: 0.2rem 0; }
.fp-chips { display: flex; flex-wrap: wrap; gap: 0.35rem; margin-top: 0.45rem; }
.fp-chip { background: var(--primary-50, #eef2ff); color: var(--primary-800, #3730a3);
  border: 1px solid var(--primary-200, #c7d2fe);
  border-radius: 999px; padding: 0.12rem 0.6rem; font-size: 0.82rem; white-space: nowrap; }
.fp-headline { font-size: 1.05rem; margin: 0 0 0.2rem; }
.fp-value { text-align: center; padding: 1.1rem 0.5rem 0.8rem; border-radius: 12px;
  background: linear-gradient(135deg, var(--primary-50, #eef2ff), #f0f9ff);
  border: 1px solid var(--primary-100, #e0e7ff); }
.fp-value-label { text-transform: uppercase; letter-spacing: 0.08em; font-size: 0.75rem;
  color: var(--body-text-color-subdued, #64748b); }
.fp-value-number { font-size: 3rem; font-weight: 700; color: var(--primary-700, #4338ca); line-height: 1.15; }
.fp-placeholder { color: var(--body-text-color-subdued, #64748b); text-align: center; padding: 2.2rem 0.5rem;
  border: 1px dashed var(--border-color-primary, #e2e8f0); border-radius: 12px; }
.fp-section-note { font-size: 0.88rem; color: var(--body-text-color-subdued, #64748b); }
.fp-sweep-title b { color: var(--body-text-color, inherit); font-size: 0.95rem; }
/* The note the API's answer leaves under a field. */
.fp-note { font-size: 0.85rem; line-height: 1.35; padding: 0.35rem 0.6rem; border-radius: 8px; border: 1px solid; }
.fp-note-refused { background: #fef2f2; border-color: #fecaca; color: #7f1d1d; }
.fp-note-outside { background: #fffbeb; border-color: #fde68a; color: #78350f; }
.fp-technical { border-collapse: collapse; font-size: 0.85rem; width: 100%; }
.fp-technical th, .fp-technical td { text-align: left; padding: 0.2rem 0.5rem;
  border-bottom: 1px solid var(--border-color-primary, #e2e8f0);
  vertical-align: top; word-break: break-word; }
.fp-technical th { font-weight: 600; width: 40%; }
.fp-problems { font-size: 0.9rem; }
.fp-problems ul { margin: 0.3rem 0 0 1.1rem; }
/* A phone: the heading and the big number smaller. */
@media (max-width: 600px) {
  .fp-header h1 { font-size: 1.45rem; }
  .fp-value-number { font-size: 2.4rem; }
}
"""
