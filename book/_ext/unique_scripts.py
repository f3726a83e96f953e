"""A Sphinx extension for the book: each page loads each script once.

sphinx-thebe (which Jupyter Book v1 always loads) adds its inline configuration script twice
in a Jupyter Book build, so every page declared ``const THEBE_JS_URL`` twice and logged a
SyntaxError in the browser console.
"""


def _drop_repeated_scripts(app, pagename, templatename, context, doctree):
    seen, kept = set(), []
    for script in context.get("script_files", []):
        # an inline script's file is None or "" depending on who added it; its body is an attribute
        key = (str(getattr(script, "filename", script) or ""), getattr(script, "priority", None),
               tuple(sorted(getattr(script, "attributes", {}).items())))
        if key not in seen:
            seen.add(key)
            kept.append(script)
    context["script_files"] = kept


def setup(app):
    app.connect("html-page-context", _drop_repeated_scripts, priority=999)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
