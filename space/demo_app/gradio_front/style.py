"""The Gradio page's look: one theme, the fragments' stylesheet, and the rules for Gradio's own blocks."""

from __future__ import annotations

import gradio as gr

from demo_app.look import FRAGMENT_CSS

__all__ = ["CSS", "FONT", "make_theme"]


# The system's own fonts: nothing fetched from a font service, and letters that read as themselves.
# (The theme's bundled display font draws E and Q as Ɛ and Ϙ, which turns codes like EWR into ƐWR.)
FONT = ("system-ui", "-apple-system", "Segoe UI", "Roboto", "Helvetica Neue", "Arial", "sans-serif")
FONT_MONO = ("ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "DejaVu Sans Mono", "monospace")


def make_theme() -> gr.themes.Base:
    """A calm theme on the system's fonts."""
    return gr.themes.Soft(primary_hue="indigo", secondary_hue="sky", neutral_hue="slate", radius_size="md",
                          font=FONT, font_mono=FONT_MONO)


GRADIO_CSS = """
.gradio-container { max-width: 1180px !important; margin: 0 auto !important; }
.fp-unknown { padding: 0 0.6rem 0.3rem !important; font-size: 0.85rem; }
.fp-examples { align-items: center; gap: 0.5rem !important; }
.fp-examples::before { content: "Try a real row:"; font-size: 0.88rem; color: var(--body-text-color-subdued); }
.fp-sweep-row { align-items: flex-end !important; }
.fp-sweep { margin-bottom: 0.35rem; }
/* The curl command is three lines: no tall empty editor under it. */
.fp-curl .cm-scroller, .fp-curl .cm-gutters { min-height: 0 !important; }
.fp-field-note:not(:has(.fp-note)) { display: none !important; }
/* A wide table scrolls inside its own box: its width comes from the page, never from its columns,
   or it drags the whole page wider than a phone's screen. */
.fp-batch-table { contain: inline-size; min-width: 0 !important; }
#fp-model-picker .wrap { flex-wrap: wrap; }
/* A phone: less padding around the page. */
@media (max-width: 600px) {
  .gradio-container { padding: 0 0.4rem !important; }
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

# The fragments' rules first, so the Gradio-only rules (dark mode) win over them.
CSS = FRAGMENT_CSS + GRADIO_CSS
