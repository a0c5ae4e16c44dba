"""The report's inline style sheet (screen and print)."""

CSS = """
:root { --ink: #1d2733; --muted: #5b6776; --rule: #d5dbe3; --accent: #1f4e79; --band: #f3f6f9; }
* { box-sizing: border-box; }
html { font-size: 15px; }
body { margin: 0; color: var(--ink); background: #fff;
       font-family: "Source Sans 3", "Segoe UI", "Helvetica Neue", Arial, "Liberation Sans", sans-serif;
       line-height: 1.5; }
main { max-width: 1120px; margin: 0 auto; padding: 28px 36px 48px; }
header.title { border-bottom: 3px solid var(--accent); padding-bottom: 14px; margin-bottom: 20px; }
header.title .kicker { text-transform: uppercase; letter-spacing: .08em; font-size: .78rem; color: var(--muted); }
h1 { font-size: 1.9rem; margin: .15em 0 .2em; color: var(--accent); font-weight: 650; }
h2 { font-size: 1.3rem; color: var(--accent); border-bottom: 1px solid var(--rule); padding-bottom: 4px;
     margin: 2.1em 0 .7em; }
h3 { font-size: 1.05rem; margin: 1.5em 0 .5em; }
p { margin: .5em 0 .8em; }
.meta { color: var(--muted); font-size: .9rem; }
.bottom-line { background: var(--band); border-left: 5px solid var(--accent); padding: 12px 16px;
               font-size: 1.08rem; margin: 14px 0 0; }
.note { color: var(--muted); font-size: .88rem; }
table { border-collapse: collapse; width: 100%; margin: .6em 0 1.2em; font-size: .86rem;
        font-variant-numeric: tabular-nums; }
th, td { border-bottom: 1px solid var(--rule); padding: 5px 8px; text-align: left; vertical-align: top; }
th { background: var(--band); font-weight: 600; border-bottom: 2px solid #b9c3cf; }
th .unit { display: block; font-weight: 400; color: var(--muted); font-size: .8rem; }
td.num { text-align: right; white-space: nowrap; }
th.num { text-align: right; }
td.treat { min-width: 15em; }
div.wide { overflow-x: auto; }
table.regimens { font-size: .8rem; }
table.regimens th, table.regimens td { padding: 5px 5px; }
tr.group td { background: #fafbfc; font-weight: 600; color: var(--accent); padding-top: 9px; }
tr.infeasible td { background: #fff4f2; }
tr.best td { background: #f1f8f2; }
table.kv { width: auto; min-width: 50%; }
table.kv th { width: 16em; background: none; border-bottom: 1px solid var(--rule); font-weight: 600; }
.badge { display: inline-block; padding: 0 7px; border-radius: 9px; font-size: .78rem; font-weight: 600;
         border: 1px solid currentColor; white-space: nowrap; }
.badge.CR { color: #116329; } .badge.PR { color: #1a7f37; } .badge.SD { color: #7d5800; }
.badge.PD { color: #b3261e; } .badge.bad { color: #b3261e; } .badge.ok { color: #1a7f37; }
figure { margin: 1em 0 1.6em; page-break-inside: avoid; break-inside: avoid; }
figure img { display: block; max-width: 100%; height: auto; border: 1px solid var(--rule); }
figcaption { font-size: .85rem; color: var(--muted); margin-top: 5px; }
figcaption b { color: var(--ink); }
code, .mono { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: .8rem; word-break: break-all; }
dl.model dt { font-weight: 600; margin-top: .7em; }
dl.model dd { margin: .15em 0 .5em 0; }
ol.sources li, ul.choices li { margin-bottom: .35em; font-size: .9rem; }
footer { margin-top: 3em; padding-top: 10px; border-top: 1px solid var(--rule); color: var(--muted);
         font-size: .82rem; }
footer table { font-size: .78rem; }
@page { size: A4; margin: 14mm; }
@media print {
  html { font-size: 11.5px; }
  main { max-width: none; padding: 0; }
  h2 { page-break-after: avoid; break-after: avoid; }
  table, tr { page-break-inside: avoid; break-inside: avoid; }
  a { color: inherit; text-decoration: none; }
}
"""
