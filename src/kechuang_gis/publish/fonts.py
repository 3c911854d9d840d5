"""Find a CJK font and make matplotlib use it, so Chinese text never renders as tofu.

Lookup order:

1. ``KECHUANG_CJK_FONT``: an explicit font file (``.ttf``/``.otf``/``.ttc``), for fonts
   kept outside the system font folders (e.g. a licensed 方正 font on a report machine);
2. fontconfig (``fc-list :lang=zh``), preferring simplified-Chinese sans faces such as
   Noto Sans CJK SC from Debian's ``fonts-noto-cjk``; fontconfig is authoritative when
   installed, so ``FONTCONFIG_FILE`` pointing elsewhere changes what is found;
3. without fontconfig (Windows, macOS without it), the font files matplotlib itself
   found on the system, checked for Chinese coverage with fontTools.

When nothing is found the error names the package to install; a Chinese map is never
drawn with boxes in place of characters.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from ..errors import MissingDependencyError

#: The Debian package that provides the fonts we prefer.
FONT_PACKAGE = "fonts-noto-cjk"
#: Environment variable naming an explicit CJK font file.
FONT_ENV = "KECHUANG_CJK_FONT"
#: Families tried first, best first: simplified-Chinese sans faces read best on maps.
PREFERRED_FAMILIES: tuple[str, ...] = (
    "Noto Sans CJK SC",
    "Source Han Sans SC",
    "Source Han Sans CN",
    "Noto Sans SC",
    "Microsoft YaHei",
    "PingFang SC",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "Noto Sans CJK TC",
    "Noto Sans CJK JP",
    "SimHei",
    "Droid Sans Fallback",
    "Noto Serif CJK SC",
    "AR PL UMing CN",
)
#: Characters every chosen font must have: common map words and the study-area names.
PROBE_TEXT = "环太湖科创圈两区六市上海苏州无锡常州湖州嘉兴宣城图例比例尺北"
#: Latin fallback matplotlib uses for glyphs the CJK face lacks (it ships with matplotlib).
LATIN_FALLBACK = "DejaVu Sans"

_INSTALL_HINT = (
    f"install the Debian package {FONT_PACKAGE} (apt-get install {FONT_PACKAGE}), "
    f"or any Chinese font fontconfig can find (fc-list :lang=zh), "
    f"or point {FONT_ENV} at a .ttf/.otf/.ttc file with Chinese glyphs"
)


@dataclass(frozen=True)
class CJKFont:
    """A font face with Chinese glyphs: file, face index within a collection, family."""

    path: Path
    index: int
    family: str
    source: str  # "env", "fontconfig" or "matplotlib"


def find_cjk_font() -> CJKFont:
    """Locate a CJK font; raise MissingDependencyError naming ``fonts-noto-cjk`` if none.

    Not cached: the environment (``FONTCONFIG_FILE``, ``KECHUANG_CJK_FONT``) decides.
    """
    explicit = os.environ.get(FONT_ENV)
    if explicit:
        return _from_file(Path(explicit))
    if shutil.which("fc-list"):
        candidates = _fontconfig_candidates()
        source = "fontconfig"
    else:
        candidates = _matplotlib_candidates()
        source = "matplotlib"
    for path, index, family in sorted(candidates, key=_rank):
        if covers(path, index, PROBE_TEXT):
            return CJKFont(Path(path), index, family, source)
    where = "fontconfig (fc-list :lang=zh)" if source == "fontconfig" else "the system font folders"
    raise MissingDependencyError(f"no font with Chinese glyphs found by {where}: {_INSTALL_HINT}")


def _from_file(path: Path) -> CJKFont:
    if not path.is_file():
        raise MissingDependencyError(f"{FONT_ENV}={path}: no such font file; {_INSTALL_HINT}")
    n_faces = _face_count(path)
    for index in range(n_faces):
        if covers(path, index, PROBE_TEXT):
            return CJKFont(path, index, _family_name(path, index), "env")
    raise MissingDependencyError(f"{FONT_ENV}={path}: the font has no Chinese glyphs; {_INSTALL_HINT}")


def _fontconfig_candidates() -> list[tuple[str, int, str]]:
    # One line per face: file, face index, first family name, weight (80 = regular).
    fmt = "%{file}\t%{index}\t%{family[0]}\t%{weight}\n"
    try:
        out = subprocess.run(["fc-list", "-f", fmt, ":lang=zh"], capture_output=True,
                             text=True, timeout=60, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    rows = []
    for line in out.splitlines():
        parts = line.split("\t")
        if len(parts) != 4 or not parts[0]:
            continue
        try:
            index, weight = int(parts[1] or 0), float(parts[3] or 80)
        except ValueError:
            continue
        # Regular faces first; bold/light files of the same family register alongside.
        if abs(weight - 80) > 25:
            continue
        rows.append((parts[0], index, parts[2]))
    return rows


def _matplotlib_candidates() -> list[tuple[str, int, str]]:
    from matplotlib import font_manager

    return [(e.fname, int(getattr(e, "index", 0)), e.name) for e in font_manager.fontManager.ttflist
            if e.weight in (400, "normal", "regular") and Path(e.fname).suffix.lower()
            in (".ttf", ".otf", ".ttc")]


def _rank(candidate: tuple[str, int, str]) -> tuple[int, str, int]:
    path, index, family = candidate
    try:
        pref = PREFERRED_FAMILIES.index(family)
    except ValueError:
        pref = len(PREFERRED_FAMILIES)
    return (pref, path, index)


@functools.lru_cache(maxsize=64)
def _cmap(path: str, index: int) -> frozenset[int]:
    from fontTools.ttLib import TTFont

    try:
        font = TTFont(path, fontNumber=index, lazy=True)
        return frozenset(font.getBestCmap() or {})
    except Exception:  # unreadable or not a font: it simply covers nothing
        return frozenset()


def _face_count(path: Path) -> int:
    from fontTools.ttLib import TTCollection

    if path.suffix.lower() in (".ttc", ".otc"):
        try:
            return len(TTCollection(str(path), lazy=True).fonts)
        except Exception:
            return 0
    return 1


def _family_name(path: Path, index: int) -> str:
    from fontTools.ttLib import TTFont

    names = TTFont(str(path), fontNumber=index, lazy=True)["name"]
    return str(names.getDebugName(16) or names.getDebugName(1))


def covers(path: str | os.PathLike, index: int, text: str) -> bool:
    """True when the face has a glyph for every non-space character of ``text``."""
    cmap = _cmap(str(path), int(index))
    return all(ord(ch) in cmap for ch in text if not ch.isspace())


def missing_glyphs(font: CJKFont, text: str) -> str:
    """Characters of ``text`` neither the CJK face nor the Latin fallback can draw."""
    cmap = _cmap(str(font.path), font.index)
    fallback = _fallback_cmap()
    return "".join(sorted({ch for ch in text if not ch.isspace()
                           and ord(ch) not in cmap and ord(ch) not in fallback}))


@functools.lru_cache(maxsize=1)
def _fallback_cmap() -> frozenset[int]:
    from matplotlib import font_manager

    path = font_manager.findfont(font_manager.FontProperties(family=LATIN_FALLBACK),
                                 fallback_to_default=True)
    return _cmap(path, 0)


@functools.lru_cache(maxsize=8)
def _register(path: str, index: int) -> str:
    """Add the font file (all faces of a collection) to matplotlib; return its family name."""
    from matplotlib import font_manager

    fm = font_manager.fontManager
    if not any(e.fname == path for e in fm.ttflist):
        fm.addfont(path)
    for e in fm.ttflist:
        if e.fname == path and int(getattr(e, "index", 0)) == index:
            # Bold faces of the same family in sibling files (e.g. NotoSansCJK-Bold.ttc).
            _register_siblings(Path(path), e.name)
            return e.name
    return _family_name(Path(path), index)


def _register_siblings(path: Path, family: str) -> None:
    from matplotlib import font_manager

    fm = font_manager.fontManager
    known = {e.fname for e in fm.ttflist}
    stem = path.stem.split("-")[0]
    for sibling in sorted(path.parent.glob(f"{stem}-*{path.suffix}")):
        if str(sibling) not in known:
            fm.addfont(str(sibling))


def cjk_font() -> CJKFont:
    """The CJK font, found once per process and registered with matplotlib."""
    return _cached_font()


@functools.lru_cache(maxsize=1)
def _cached_font() -> CJKFont:
    font = find_cjk_font()
    family = _register(str(font.path), font.index)
    return CJKFont(font.path, font.index, family, font.source)


def rc_params(font: CJKFont | None = None) -> dict:
    """matplotlib rcParams that draw text with the CJK face (Latin fallback for the rest)."""
    font = font or cjk_font()
    return {
        "font.family": [font.family, LATIN_FALLBACK],
        "axes.unicode_minus": False,  # CJK faces often lack U+2212; use the ASCII hyphen
        "pdf.fonttype": 42,
        "svg.fonttype": "path",
    }


def check_text(texts, font: CJKFont | None = None) -> None:
    """Raise MissingDependencyError if any string has characters no loaded font can draw."""
    font = font or cjk_font()
    bad = missing_glyphs(font, "".join(str(t) for t in texts if t))
    if bad:
        raise MissingDependencyError(
            f"font {font.family} ({font.path}) has no glyphs for {bad!r}; {_INSTALL_HINT}")
