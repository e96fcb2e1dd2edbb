"""Every number README.md and docs/*.md quote is in the result file they name (docs/design.md, "Numbers in these docs").

Pure file parsing: no training, no imports of the library.

- Tables: the result files are the ``benchmarks/results/NAME.json`` (``.jsonl``) paths of the caption (the paragraph
  directly above) or of the row itself. Every number of a numeric cell (not the first column; only numbers,
  separators, emphasis and units) must be a value of those files; a ``mean ± std`` two numbers of one JSON object.
- Prose: a paragraph naming result files (a list item: else its list's introduction; the paragraph after a table:
  else the table's files) is read against them; every number with a decimal point must match, except ratios,
  differences, minutes and settings (``PROSE_SETTING``, ``PRECEDING_SETTING``, ``PROSE_CONSTANTS``) and the
  quotations in ``PROSE_EXEMPT``.
- Matching: the value rounded to the figure's decimals (half-way either way), or x 100 (a percentage), or, for
  figures of 1 and more, / 1000 (MB written as GB); thousands separators dropped.

Exempt, with their reasons: ``TABLE_EXEMPT`` (the demo's own output, preset settings), ``PROSE_EXEMPT`` (a paper's
figures), ``PROSE_CONSTANTS`` (audio's 1.28 s window).
"""
from __future__ import annotations

import json
import math
import re
from functools import lru_cache
from pathlib import Path
from typing import Dict, Iterable, List, NamedTuple, Optional, Sequence, Tuple

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md"] + sorted((ROOT / "docs").glob("*.md"))

RESULT_FILE = re.compile(r"benchmarks/results/[\w.\-]+?\.jsonl?\b")
ABBREVIATED_FILE = re.compile(r"(?:…|\.\.\.)_?[\w\-]+\.jsonl?")
NUMBER = re.compile(r"(?<![\w.])(\d{1,3}(?:,\d{3})+(?!\d)|\d+)(\.\d+)?(?![\w])(?!\.\d)")
UNITS = re.compile(r"(?<![\w])(?:s|ms|min|MB|MiB|GB|GiB|kB)(?![\w])|%")
NUMERIC_CELL = re.compile(r"[\d\s.,/;:±()+\-−–>]*")
CODE_SPAN = re.compile(r"`[^`]*`")
LINK = re.compile(r"(!?)\[([^\]]*)\]\(([^)\s]*)\)")
SCALES = (1.0, 100.0, 0.001)

# Numbers followed by these are not results but ratios, differences or settings (prose only).
PROSE_SETTING = re.compile(
    r"\s*(?:(?:to|-|–)\s*\d[\d.]*\s*points?\b|x\b|×|times\b|points?\b|under\b|above\b|below\b"  # ratios, differences
    r"|px\b|pixels?\b|s windows?\b|s pieces\b|s of\b|s each\b|hours?\b|minutes?\b|dB\b)"  # settings
)

# Numbers written as a setting's value (prose only): ``alpha 0.025``, ``temperature 0.1``, ``tau 0.99`` ...
PRECEDING_SETTING = re.compile(
    r"(?:alpha|lr|learning rate|temperature|tau|weight decay|sample|momentum|\bm|\bT|sigma|strength|scale|"
    r"probability|prob|jitter|ratio|ab grid|within|at least|at most|chance|target:?|targets?:? >=?)\s*(?:from\s+)?=?\s*$", re.I)

# Settings quoted so often that they are not results wherever they stand (prose only): the reason.
PROSE_CONSTANTS: Dict[str, str] = {
    "1.28": "audio's training window, 20480 samples at 16 kHz (the CPC paper's), a setting",
}

# Tables whose numeric cells come from no result file, by (document, start of the header row): the reason.
TABLE_EXEMPT: Dict[Tuple[str, str], str] = {
    ("core.md", "| section | learned | baselines |"): "the demo's own output (multissl demo's metrics.json), as its caption says",
    ("vision.md", "| features | linear probe | kNN |"): "the demo's vision section (multissl demo's metrics.json), as its caption says",
    ("audio.md", "| preset | encoder | GRU |"): "settings of the audio presets, not measurements",
    ("video.md", "| preset | trunk | 3-D stack |"): "settings of the video presets, not measurements",
}

# Prose figures with a decimal point that no result file holds, by (document, figure, words next to it): why.
PROSE_EXEMPT: Dict[Tuple[str, str, str], str] = {
    ("audio.md", "97.4", "CPC 97.4 %"): "the CPC paper's own figure, quoted as such",
    ("audio.md", "17.6", "MFCC 17.6 %"): "the CPC paper's own figure, quoted as such",
}


class Figure(NamedTuple):
    text: str  # as written
    value: float
    decimals: int
    end: int  # where it ends in its text


class Block(NamedTuple):
    doc: str
    line: int
    kind: str  # "table" or "para"
    lines: Tuple[str, ...]
    caption: str  # tables: the paragraph directly above, else ""


def figures(text: str) -> List[Figure]:
    """The numbers of ``text`` (a minus sign kept, thousands separators dropped); parts of words (``resnet18``,
    ``1.45x``), versions (``2.14.1``) and exponents (``1e-4``) are not numbers."""
    found = []
    for m in NUMBER.finditer(text):
        whole, fraction = m.groups()
        before = text[max(0, m.start() - 3):m.start()]
        if re.search(r"\d[eE][-+]?$", before):
            continue
        negative = before[-1:] in ("-", "−") and not re.search(r"[\w.)]$", before[:-1])
        number = float(whole.replace(",", "") + (fraction or ""))
        found.append(Figure(("-" if negative else "") + m.group(0), -number if negative else number,
                            len(fraction) - 1 if fraction else 0, m.end()))
    return found


def matches(figure: Figure, values: Sequence[float]) -> bool:
    """``figure`` is one of ``values`` written with its decimals (or as a percentage, or MB written as GB)."""
    tolerance = 0.5 * 10 ** -figure.decimals + 1e-6 * max(1.0, abs(figure.value))
    scales = SCALES if abs(figure.value) >= 1 else SCALES[:2]  # MB as GB: 2.6 GB, never 0.001
    return any(abs(v * scale - figure.value) <= tolerance for v in values for scale in scales)


def _leaves(obj) -> Iterable[float]:
    if isinstance(obj, dict):
        for key, value in obj.items():
            yield from _numbers_in_string(str(key))
            yield from _leaves(value)
    elif isinstance(obj, list):
        for value in obj:
            yield from _leaves(value)
    elif isinstance(obj, bool) or obj is None:
        return
    elif isinstance(obj, (int, float)):
        if math.isfinite(obj):
            yield float(obj)
    elif isinstance(obj, str):
        yield from _numbers_in_string(obj)


def _numbers_in_string(text: str) -> Iterable[float]:
    for m in re.finditer(r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?", text):
        yield float(m.group())


@lru_cache(maxsize=None)
def result_values(name: str) -> Tuple[float, ...]:
    """Every number in the result file ``benchmarks/results/NAME`` (JSON, or JSON lines)."""
    text = (ROOT / name).read_text(encoding="utf-8")
    objects = [json.loads(line) for line in text.splitlines() if line.strip()] if name.endswith(".jsonl") else [json.loads(text)]
    return tuple(sorted({v for obj in objects for v in _leaves(obj)}))


def _records(obj) -> Iterable[Tuple[float, ...]]:
    """The numbers directly inside each JSON object (e.g. a ``mean`` and its ``std``), one tuple per object."""
    if isinstance(obj, dict):
        own = [v for v in obj.values() if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)]
        if own:
            yield tuple(float(v) for v in own)
        for value in obj.values():
            yield from _records(value)
    elif isinstance(obj, list):
        for value in obj:
            yield from _records(value)


@lru_cache(maxsize=None)
def result_records(name: str) -> Tuple[Tuple[float, ...], ...]:
    """The numbers of every JSON object of ``benchmarks/results/NAME``, object by object."""
    text = (ROOT / name).read_text(encoding="utf-8")
    objects = [json.loads(line) for line in text.splitlines() if line.strip()] if name.endswith(".jsonl") else [json.loads(text)]
    return tuple(record for obj in objects for record in _records(obj))


def blocks(path: Path, text: Optional[str] = None) -> List[Block]:
    """Tables and paragraphs (each list item its own) outside code blocks. A table's caption is the paragraph
    directly above it; a list item's is the paragraph that introduces its list, and the paragraph right after
    a table (its note) has the table's caption and rows as its caption."""
    lines = (path.read_text(encoding="utf-8") if text is None else text).splitlines()
    found: List[Block] = []
    current: List[str] = []
    start, kind, fence, previous = 0, "", False, ""
    intro = ""  # what the next list item or table note is read with

    def flush():
        nonlocal current, kind, previous, intro
        if current:
            item = kind == "para" and re.match(r"\s*(?:[-*]|\d+\.) ", current[0])
            caption = previous if kind == "table" else (intro if item or intro.startswith("|") else "")
            found.append(Block(path.name, start, kind, tuple(current), caption))
            if kind == "table":
                intro = "|" + previous + " " + " ".join(current)
                previous = ""
            elif item:
                previous = ""
            else:
                previous = intro = " ".join(current)
        current, kind = [], ""

    for number, line in enumerate(lines, 1):
        if line.lstrip().startswith("```"):
            flush()
            fence, previous, intro = not fence, "", ""
            continue
        if fence:
            continue
        if not line.strip() or line.startswith("#") or line.lstrip().startswith("<!--") or line.lstrip().startswith("!["):
            flush()
            if line.startswith("#"):
                previous = intro = ""
            continue
        line_kind = "table" if line.lstrip().startswith("|") else "para"
        if line_kind != kind or (line_kind == "para" and re.match(r"\s*(?:[-*]|\d+\.) ", line)):
            flush()
            start, kind = number, line_kind
        current.append(line)
    flush()
    return found


def all_blocks() -> List[Block]:
    return [block for doc in DOCS for block in blocks(doc)]


def cells(row: str) -> List[str]:
    return [cell.strip() for cell in row.strip().strip("|").split("|")]


def numeric_cell(cell: str) -> Optional[str]:
    """The cell without emphasis and units when it holds only numbers and separators, else None (a label)."""
    bare = UNITS.sub(" ", cell.replace("**", "").replace("*", ""))
    if not re.search(r"\d", bare) or not NUMERIC_CELL.fullmatch(bare):
        return None
    return bare


def table_figures(block: Block) -> List[Tuple[int, Figure, Tuple[str, ...]]]:
    """(line, figure, result files) of every numeric cell of a table: the row's own files, else the caption's."""
    caption_files = tuple(RESULT_FILE.findall(block.caption))
    out = []
    for offset, row in enumerate(block.lines[2:], 2):  # header and separator rows hold no figures
        row_files = tuple(RESULT_FILE.findall(row)) or caption_files
        for cell in cells(row)[1:]:
            bare = numeric_cell(cell)
            if bare is not None:
                out.extend((block.line + offset, f, row_files) for f in figures(bare))
    return out


def prose_figures(block: Block) -> List[Tuple[Figure, str]]:
    """(figure, words around it) of the figures with a decimal point in a paragraph, settings and code left out."""
    text = " ".join(block.lines)
    text = LINK.sub(lambda m: m.group(2), text)
    text = CODE_SPAN.sub(" ", text).replace("**", "")
    out = []
    for f in figures(text):
        if f.decimals == 0 or f.text in PROSE_CONSTANTS or PROSE_SETTING.match(text, f.end):
            continue
        if PRECEDING_SETTING.search(text[max(0, f.end - len(f.text) - 20):f.end - len(f.text)]):
            continue
        context = text[max(0, f.end - len(f.text) - 12):f.end + 4]
        out.append((f, context))
    return out


def exempt_prose(doc: str, figure: Figure, context: str) -> bool:
    return any(doc == d and figure.text.lstrip("+-−") == n and words in context for d, n, words in PROSE_EXEMPT)


def exempt_table(block: Block) -> Optional[Tuple[str, str]]:
    for (doc, header), _reason in TABLE_EXEMPT.items():
        if block.doc == doc and block.lines[0].startswith(header):
            return doc, header
    return None


def table_mismatches(block: Block) -> List[str]:
    """Figures of a table that its result files do not hold; a ``mean ± std`` must be two numbers of one JSON object."""
    problems = []
    for line, figure, files in table_figures(block):
        values = [v for name in files if (ROOT / name).is_file() for v in result_values(name)]
        if not matches(figure, values):
            problems.append(f"{block.doc}:{line}: {figure.text} is not in {', '.join(files) or 'any named result file'}")
    for line, (mean, std), files in table_pairs(block):
        records = [r for name in files if (ROOT / name).is_file() for r in result_records(name)]
        if not any(matches(mean, r) and matches(std, r) for r in records):
            problems.append(f"{block.doc}:{line}: {mean.text} ± {std.text} is not a mean and std of one object of "
                            f"{', '.join(files)}")
    return problems


def table_pairs(block: Block) -> List[Tuple[int, Tuple[Figure, Figure], Tuple[str, ...]]]:
    """(line, (mean, std), result files) of every ``mean ± std`` in a table's numeric cells."""
    caption_files = tuple(RESULT_FILE.findall(block.caption))
    out = []
    for offset, row in enumerate(block.lines[2:], 2):
        row_files = tuple(RESULT_FILE.findall(row)) or caption_files
        for cell in cells(row)[1:]:
            bare = numeric_cell(cell)
            if bare is None:
                continue
            for m in re.finditer(r"(\S+)\s*±\s*(\S+)", bare):
                mean, std = figures(m.group(1)), figures(m.group(2))
                if len(mean) == 1 and len(std) == 1:
                    out.append((block.line + offset, (mean[0], std[0]), row_files))
    return out


def prose_files(block: Block) -> List[str]:
    """The result files a paragraph is read against: its own, else those of the list or table it belongs to."""
    return RESULT_FILE.findall(" ".join(block.lines)) or RESULT_FILE.findall(block.caption)


def prose_mismatches(block: Block) -> List[str]:
    files = prose_files(block)
    if not files:
        return []
    values = [v for name in files if (ROOT / name).is_file() for v in result_values(name)]
    return [f"{block.doc}:{block.line}: {figure.text} ({context.strip()!r}) is not in {', '.join(sorted(set(files)))}"
            for figure, context in prose_figures(block)
            if not matches(figure, values) and not exempt_prose(block.doc, figure, context)]


TABLES = [b for b in all_blocks() if b.kind == "table" and table_figures(b) and exempt_table(b) is None]
PARAGRAPHS = [b for b in all_blocks() if b.kind == "para" and prose_files(b)]


def test_every_result_file_the_docs_name_exists():
    missing = sorted({f"{doc.name}: {name}" for doc in DOCS for name in RESULT_FILE.findall(doc.read_text(encoding="utf-8"))
                      if not (ROOT / name).is_file()})
    assert not missing, missing


def test_result_files_are_named_in_full():
    short = [f"{doc.name}: {m}" for doc in DOCS for m in ABBREVIATED_FILE.findall(doc.read_text(encoding="utf-8"))]
    assert not short, f"write benchmarks/results/NAME.json in full, the test reads only that: {short}"


def test_every_table_of_figures_names_its_result_file():
    unnamed = [f"{b.doc}:{b.line}: {b.lines[0][:70]}" for b in TABLES
               if not RESULT_FILE.search(b.caption) and not all(RESULT_FILE.search(row) for row in b.lines[2:])]
    assert not unnamed, f"tables with figures but no result file in their caption or rows: {unnamed}"


def test_every_exempt_table_exists():
    present = {exempt_table(b) for b in all_blocks() if b.kind == "table"}
    assert not set(TABLE_EXEMPT) - present, f"exemptions of tables no longer in the docs: {set(TABLE_EXEMPT) - present}"


@pytest.mark.parametrize("block", TABLES, ids=lambda b: f"{b.doc}:{b.line}")
def test_every_table_figure_is_in_its_result_file(block):
    assert not table_mismatches(block)


@pytest.mark.parametrize("block", PARAGRAPHS, ids=lambda b: f"{b.doc}:{b.line}")
def test_every_figure_of_a_paragraph_is_in_the_result_file_it_names(block):
    assert not prose_mismatches(block)


def test_the_results_tables_of_readme_and_docs_are_covered():
    checked: Dict[str, int] = {}
    for block in TABLES:
        checked[block.doc] = checked.get(block.doc, 0) + len(table_figures(block))
    for doc in ("README.md", "core.md", "text.md", "audio.md", "video.md", "vision.md", "evaluation.md"):
        assert checked.get(doc, 0) >= 8, f"{doc}: only {checked.get(doc, 0)} table figures are checked"
    readme_results = [b for b in TABLES if b.doc == "README.md" and "| result" in b.lines[0]]
    assert len(readme_results) == 1
    rows = readme_results[0].lines[2:]
    assert len(rows) >= 8 and all(RESULT_FILE.search(row) for row in rows), "every README result row links its file"


def _changed(figure_text: str) -> str:
    """The figure with its last digit moved by 5: the same form, another value."""
    return figure_text[:-1] + str((int(figure_text[-1]) + 5) % 10)


def test_a_figure_changed_in_the_docs_but_not_in_the_file_fails():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    results = [b for b in blocks(ROOT / "README.md") if b.kind == "table" and "| result" in b.lines[0]][0]
    assert not table_mismatches(results)
    lines = readme.splitlines()
    unnoticed = []
    for line, figure, _files in table_figures(results):
        row = lines[line - 1]
        cell_start = row.index(figure.text, row.index("|", 2))  # the figure in a numeric cell, not in the label
        changed_lines = list(lines)
        changed_lines[line - 1] = row[:cell_start] + _changed(figure.text) + row[cell_start + len(figure.text):]
        changed = [b for b in blocks(ROOT / "README.md", "\n".join(changed_lines))
                   if b.kind == "table" and "| result" in b.lines[0]][0]
        if not table_mismatches(changed):
            unnoticed.append(f"{figure.text} -> {_changed(figure.text)}")
    assert not unnoticed, f"changes the test did not notice: {unnoticed}"


def test_matching_rounds_like_the_text():
    def f(text):
        (only,) = figures(text)
        return only

    assert matches(f("0.5275"), [0.52751]) and matches(f("0.383"), [0.3824999928])  # half-way, float32
    assert not matches(f("0.5285"), [0.52751])
    assert matches(f("88.2"), [0.8821]) and matches(f("2,123,124"), [2123124.3]) and matches(f("11.5"), [11533.9])
    assert matches(f("-0.271"), [-0.2712]) and not matches(f("-0.271"), [0.2712])
    assert [x.value for x in figures("0.341 ± 0.029 / 1,000 and torch==2.14.1, 1e-4, resnet18")] == [0.341, 0.029, 1000]


def test_every_exemption_is_still_needed():
    used = {(b.doc, n, w) for b in PARAGRAPHS for f, c in prose_figures(b) for (d, n, w) in PROSE_EXEMPT
            if d == b.doc and f.text.lstrip("+-−") == n and w in c}
    assert used == set(PROSE_EXEMPT), f"exemptions no figure needs any more: {set(PROSE_EXEMPT) - used}"


def _slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces as hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lstrip("#").strip().lower())
    return text.replace(" ", "-")


def _anchors(path: Path) -> set:
    seen: Dict[str, int] = {}
    anchors = set()
    fence = False
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.lstrip().startswith("```"):
            fence = not fence
        if fence or not re.match(r"#{1,6} ", line):
            continue
        slug = _slug(line)
        anchors.add(slug if slug not in seen else f"{slug}-{seen[slug]}")
        seen[slug] = seen.get(slug, 0) + 1
    return anchors


def test_links_between_the_docs_resolve():
    broken = []
    for doc in DOCS:
        text = CODE_SPAN.sub("", doc.read_text(encoding="utf-8"))
        for m in LINK.finditer(text):
            target = m.group(3)
            if not target or re.match(r"[a-z]+:", target):
                continue
            name, _, anchor = target.partition("#")
            path = (doc.parent / name).resolve() if name else doc
            if not path.exists():
                broken.append(f"{doc.name}: {target} (no such file)")
            elif anchor and path.suffix == ".md" and anchor not in _anchors(path):
                broken.append(f"{doc.name}: {target} (no such heading)")
    assert not broken, broken


def test_docs_say_what_is():
    """No work log in the docs: where a number stands, not how it was reached."""
    pattern = re.compile(r"\bstops? [0-9]+|this stop|session|helper job|lease", re.I)
    hits = [f"{doc.name}:{n}: {line.strip()[:80]}" for doc in DOCS
            for n, line in enumerate(doc.read_text(encoding="utf-8").splitlines(), 1) if pattern.search(line)]
    assert not hits, hits
