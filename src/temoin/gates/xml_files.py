"""Markup gates for SVG and XML files (feeds, sitemap): a hardened XML parse, then the
third-party and active-content rules of `gates.markup` (see its rules)."""

from __future__ import annotations

import re
from typing import Any

from temoin.gates.markup import ALLOWED_RELS, Origin, Report, check_animation, check_css, shortened

# -- SVG and XML files ---------------------------------------------------------------------
SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"
XML_NS = "http://www.w3.org/XML/1998/namespace"
# Namespaces whose elements a browser renders (and runs) inside any XML document.
RENDERED_NS = {"http://www.w3.org/1999/xhtml": "XHTML", SVG_NS: "SVG",
               "http://www.w3.org/1998/Math/MathML": "MathML",
               "http://www.w3.org/1999/XSL/Transform": "XSLT"}
SVG_ACTIVE = frozenset({"script", "foreignobject", "handler", "listener", "iframe", "object",
                        "embed", "frame", "frameset", "applet", "portal", "base"})
_PI = re.compile(rb"<\?(?!xml[ \t\r\n])", re.I)
_XML_DECL = re.compile(rb"\A(?:\xef\xbb\xbf)?<\?xml[ \t\r\n]")


def _split(name: str) -> tuple[str, str]:
    """('namespace', 'local') of an ElementTree name '{ns}local'."""
    if name.startswith("{"):
        ns, _, local = name[1:].partition("}")
        return ns, local
    return "", name


def _xml_tree(data: bytes, report: Report) -> Any:
    """The root element of a hardened parse (no DTD, no entity, no external reference),
    or None after reporting why it was refused."""
    from xml.etree.ElementTree import ParseError

    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import fromstring

    # A processing instruction (other than the <?xml?> declaration) can make the browser
    # load and run a stylesheet (<?xml-stylesheet?>, XSLT); ElementTree drops them, so
    # they are looked for in the bytes (a `<?` in a comment or CDATA is refused too).
    decl = _XML_DECL.match(data)
    body = data[decl.end():] if decl else data
    if _PI.search(body):
        report("active-content", "XML processing instruction (<?xml-stylesheet?> loads and "
               "runs a stylesheet)")
        return None
    try:
        return fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        report("active-content", f"XML {type(exc).__name__} (no DOCTYPE, entity or external "
               "reference is allowed: entities can hide markup)")
    except (ParseError, ValueError) as exc:
        report("active-content", f"not well-formed XML ({str(exc)[:60]})")
    return None


def check_svg(data: bytes, page: str, origin: Origin, report: Report) -> None:
    """Run the third-party and active-content gates over one SVG file, parsed with a
    hardened XML parser: no DOCTYPE or entities, no script, foreignObject or embedding
    element, no event attribute, no `xml:base`, no link (`<a>`) to another site or to a
    script URL, no fetch (`<use>`, `<image>`, `url()`, `<style>`) off the site."""
    root = _xml_tree(data, report)
    if root is None:
        return
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        ns, tag = _split(el.tag)
        low = tag.lower()
        if low in SVG_ACTIVE:
            report("active-content", f"<{tag}> in an SVG file")
        elif ns in RENDERED_NS and ns != SVG_NS:
            report("active-content", f"<{tag}> of {RENDERED_NS[ns]} in an SVG file")
        attrs: dict[str, str] = {}
        for name, value in el.attrib.items():
            ans, local = _split(name)
            key = ("xlink:" if ans == XLINK_NS else "xml:" if ans == XML_NS else "") + \
                local.lower()
            attrs[key] = value
            if local.lower().startswith("on"):
                report("active-content", f"<{tag}> has an event handler {local}=")
            elif key == "xml:base":
                report("active-content", f"<{tag}> has xml:base= (moves every relative URL)")
            elif key in ("href", "xlink:href"):
                kind = origin.kind(value)
                if kind == "active":
                    report("active-content", f"<{tag} {key}> holds a "
                           f"{value.strip()[:11].lower()}… URL")
                elif kind in ("external", "other", "contact"):
                    report("third-party", f"<{tag} {key}> points to {shortened(value)}")
            elif local.lower() == "style" or "url(" in value.lower():
                check_css(value, origin, report, f" in <{tag} {local}>")
        if low == "style":
            check_css(el.text or "", origin, report, " in <style>")
        if low in ("animate", "set"):
            check_animation(tag, attrs, origin, report)


def check_xml(data: bytes, page: str, origin: Origin, report: Report) -> None:
    """An XML file (feed, sitemap) is data: parsed with a hardened parser, it holds no
    DOCTYPE, entity or processing instruction (an XSLT stylesheet runs script) and no
    element of a namespace the browser renders (XHTML, SVG, MathML, XSLT)."""
    root = _xml_tree(data, report)
    if root is None:
        return
    for el in root.iter():
        if isinstance(el.tag, str):
            ns, tag = _split(el.tag)
            if ns in RENDERED_NS and not _sitemap_link(ns, tag, el.attrib, origin):
                report("active-content", f"<{tag}> of {RENDERED_NS[ns]} in an XML file "
                       "(the browser renders it, scripts included)")


XHTML_NS = "http://www.w3.org/1999/xhtml"
_INERT_RELS = ALLOWED_RELS - {"stylesheet", "icon", "shortcut", "apple-touch-icon"}


def _sitemap_link(ns: str, tag: str, attrs: dict[str, str], origin: Origin) -> bool:
    """A sitemap's `<xhtml:link rel="alternate" hreflang=… href=…>` (a page's other
    languages): a link that loads nothing and holds no script URL is allowed."""
    if ns != XHTML_NS or tag != "link" or not set(attrs) <= {"rel", "hreflang", "href",
                                                              "type", "title"}:
        return False
    rels = set(attrs.get("rel", "").lower().split())
    return bool(rels) and rels <= _INERT_RELS and origin.kind(attrs.get("href", "")) != "active"
