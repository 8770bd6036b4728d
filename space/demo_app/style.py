"""The demo's look: one Gradio theme and a little CSS for the banners, chips and numbers."""

from __future__ import annotations

import gradio as gr

__all__ = ["CSS", "FONT", "make_theme"]


# The system's own fonts: nothing fetched from a font service, and letters that read as themselves.
# (The theme's bundled display font draws E and Q as Ɛ and Ϙ, which turns codes like EWR into ƐWR.)
FONT = ("system-ui", "-apple-system", "Segoe UI", "Roboto", "Helvetica Neue", "Arial", "sans-serif")
FONT_MONO = ("ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "DejaVu Sans Mono", "monospace")


def make_theme() -> gr.themes.Base:
    """A calm theme on the system's fonts."""
    return gr.themes.Soft(primary_hue="indigo", secondary_hue="sky", neutral_hue="slate", radius_size="md",
                          font=FONT, font_mono=FONT_MONO)


CSS = """
.gradio-container { max-width: 1180px !important; margin: 0 auto !important; }
.fp-header h1 { font-size: 1.9rem; margin: 0.2rem 0 0.1rem; letter-spacing: -0.01em; }
.fp-header .fp-kicker { text-transform: uppercase; font-size: 0.75rem; letter-spacing: 0.12em;
  color: var(--primary-600); font-weight: 600; }
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
.fp-muted { color: var(--body-text-color-subdued); }
.fp-small { font-size: 0.8rem; margin-top: 0.2rem; }
.fp-summary h3 { margin: 0 0 0.3rem; font-size: 1.25rem; }
.fp-summary p { margin: 0.2rem 0; }
.fp-chips { display: flex; flex-wrap: wrap; gap: 0.35rem; margin-top: 0.45rem; }
.fp-chip { background: var(--primary-50); color: var(--primary-800); border: 1px solid var(--primary-200);
  border-radius: 999px; padding: 0.12rem 0.6rem; font-size: 0.82rem; white-space: nowrap; }
.fp-headline { font-size: 1.05rem; margin: 0 0 0.2rem; }
.fp-value { text-align: center; padding: 1.1rem 0.5rem 0.8rem; border-radius: 12px;
  background: linear-gradient(135deg, var(--primary-50), #f0f9ff); border: 1px solid var(--primary-100); }
.fp-value-label { text-transform: uppercase; letter-spacing: 0.08em; font-size: 0.75rem;
  color: var(--body-text-color-subdued); }
.fp-value-number { font-size: 3rem; font-weight: 700; color: var(--primary-700); line-height: 1.15; }
.fp-placeholder { color: var(--body-text-color-subdued); text-align: center; padding: 2.2rem 0.5rem;
  border: 1px dashed var(--border-color-primary); border-radius: 12px; }
.fp-unknown { padding: 0 0.6rem 0.3rem !important; font-size: 0.85rem; }
.fp-examples { align-items: center; gap: 0.5rem !important; }
.fp-examples::before { content: "Try a real row:"; font-size: 0.88rem; color: var(--body-text-color-subdued); }
.fp-sweep-row { align-items: flex-end !important; }
.fp-sweep { margin-bottom: 0.35rem; }
/* The curl command is three lines: no tall empty editor under it. */
.fp-curl .cm-scroller, .fp-curl .cm-gutters { min-height: 0 !important; }
.fp-section-note { font-size: 0.88rem; color: var(--body-text-color-subdued); }
.fp-sweep-title b { color: var(--body-text-color); font-size: 0.95rem; }
/* The note the API's answer leaves under a field. */
.fp-note { font-size: 0.85rem; line-height: 1.35; padding: 0.35rem 0.6rem; border-radius: 8px; border: 1px solid; }
.fp-note-refused { background: #fef2f2; border-color: #fecaca; color: #7f1d1d; }
.fp-note-outside { background: #fffbeb; border-color: #fde68a; color: #78350f; }
.fp-field-note:not(:has(.fp-note)) { display: none !important; }
.fp-technical { border-collapse: collapse; font-size: 0.85rem; width: 100%; }
.fp-technical th, .fp-technical td { text-align: left; padding: 0.2rem 0.5rem;
  border-bottom: 1px solid var(--border-color-primary);
  vertical-align: top; word-break: break-word; }
.fp-technical th { font-weight: 600; width: 40%; }
/* A wide table scrolls inside its own box: its width comes from the page, never from its columns,
   or it drags the whole page wider than a phone's screen. */
.fp-batch-table { contain: inline-size; min-width: 0 !important; }
.fp-problems { font-size: 0.9rem; }
.fp-problems ul { margin: 0.3rem 0 0 1.1rem; }
#fp-model-picker .wrap { flex-wrap: wrap; }
/* A phone: less padding, the big number smaller, every control full width. */
@media (max-width: 600px) {
  .gradio-container { padding: 0 0.4rem !important; }
  .fp-header h1 { font-size: 1.45rem; }
  .fp-value-number { font-size: 2.4rem; }
}
/* Gradio marks dark mode with a .dark class (it follows the visitor's system setting). */
.dark .fp-ok { background: #052e16; color: #bbf7d0; border-color: #166534; }
.dark .fp-ok a { color: #86efac; }
.dark .fp-waking { background: #451a03; color: #fde68a; border-color: #92400e; }
.dark .fp-down { background: #450a0a; color: #fecaca; border-color: #991b1b; }
.dark .fp-invalid { background: #431407; color: #fed7aa; border-color: #9a3412; }
.dark .fp-value { background: var(--neutral-800); border-color: var(--neutral-700); }
.dark .fp-value-number { color: var(--primary-300); }
.dark .fp-note-refused { background: #450a0a; color: #fecaca; border-color: #991b1b; }
.dark .fp-note-outside { background: #451a03; color: #fde68a; border-color: #92400e; }
.dark .fp-chip { background: var(--neutral-800); color: var(--primary-200); border-color: var(--neutral-700); }
"""
