package reconcile

import (
	"fmt"
	"html/template"
	"io"
	"slices"
	"strings"
)

// The HTML report is one self-contained page: inline CSS, an inline SVG
// chart, no scripts and no external assets.
var htmlPage = template.Must(template.New("report").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{{.Title}}</title>
<style>
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem auto;max-width:72rem;padding:0 1rem;color:#1f2328}
h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:2rem}
table{border-collapse:collapse;margin:.5rem 0;font-size:.9rem}
th,td{border:1px solid #d0d7de;padding:.3rem .6rem;text-align:left;vertical-align:top}
th{background:#f6f8fa}td.n{text-align:right;font-variant-numeric:tabular-nums}
p.note{color:#57606a;font-size:.85rem}
.chart text{font-size:11px;fill:#57606a}
</style>
</head>
<body>
<h1>{{.Title}}</h1>
<p class="note">Generated {{.Generated}}.</p>
<h2>Attributable share of revenue per day</h2>
{{.Chart}}
{{range .Sections}}<h2>{{.Title}}</h2>
{{if .Rows}}<table>
<tr>{{range .Headers}}<th>{{.}}</th>{{end}}</tr>
{{range .Rows}}<tr>{{range .}}<td{{if .Num}} class="n"{{end}}>{{.Text}}</td>{{end}}</tr>
{{end}}</table>
{{else}}<p>(none)</p>
{{end}}{{range .Notes}}<p class="note">{{.}}</p>
{{end}}{{end}}</body>
</html>
`))

type htmlCell struct {
	Text string
	Num  bool
}

type htmlSection struct {
	Title   string
	Headers []string
	Rows    [][]htmlCell
	Notes   []string
}

func (r *Report) renderHTML(w io.Writer) error {
	data := struct {
		Title, Generated string
		Chart            template.HTML
		Sections         []htmlSection
	}{Title: r.title(), Generated: r.GeneratedAt.Format("2006-01-02 15:04:05 MST"), Chart: r.chartSVG()}
	for _, s := range r.sections() {
		hs := htmlSection{Title: s.title, Headers: s.headers, Notes: s.notes}
		for _, row := range s.rows {
			cells := make([]htmlCell, len(row))
			for i, c := range row {
				cells[i] = htmlCell{Text: c, Num: numeric(c)}
			}
			hs.Rows = append(hs.Rows, cells)
		}
		data.Sections = append(data.Sections, hs)
	}
	return htmlPage.Execute(w, data)
}

func numeric(s string) bool {
	return s != "" && strings.Trim(s, "0123456789.-%") == ""
}

var chartColors = []string{"#0969da", "#cf222e", "#1a7f37", "#8250df", "#bf8700"}

// chartSVG draws one line per currency: the attributable share of revenue
// per day, 0 to 100 %. Days without revenue in a currency have no point.
func (r *Report) chartSVG() template.HTML {
	days, currencies := []string{}, []string{}
	for _, d := range r.ByDay {
		days = append(days, d.Key)
		currencies = append(currencies, d.Currency)
	}
	slices.Sort(days)
	days = slices.Compact(days)
	slices.Sort(currencies)
	currencies = slices.Compact(currencies)
	if len(days) == 0 {
		return template.HTML(`<p>(no conversions in the window)</p>`)
	}
	const w, h, left, top, plotW, plotH = 640, 240, 48, 16, 560, 180
	x := func(i int) float64 {
		if len(days) == 1 {
			return left + plotW/2
		}
		return left + float64(i)*plotW/float64(len(days)-1)
	}
	y := func(share float64) float64 { return top + plotH*(1-share) }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-label="attributable share of revenue per day">`, w, h, w, h)
	for _, g := range []float64{0, 0.25, 0.5, 0.75, 1} {
		fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#d0d7de"/><text x="4" y="%.1f">%d%%</text>`,
			left, left+plotW, y(g), y(g), y(g)+4, int(g*100))
	}
	for i, d := range days {
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">%s</text>`, x(i), top+plotH+18, template.HTMLEscapeString(d[5:]))
	}
	for ci, cur := range currencies {
		color := chartColors[ci%len(chartColors)]
		var pts []string
		for i, d := range days {
			for _, row := range r.ByDay {
				if row.Key == d && row.Currency == cur && row.AttributableShare != nil {
					pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(i), y(*row.AttributableShare)))
					fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="3" fill="%s"><title>%s %s: %s</title></circle>`,
						x(i), y(*row.AttributableShare), color, template.HTMLEscapeString(d), template.HTMLEscapeString(cur), pct(row.AttributableShare))
				}
			}
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>`, color, strings.Join(pts, " "))
		fmt.Fprintf(&b, `<text x="%d" y="%d" fill="%s" style="fill:%s">%s</text>`, left+plotW+8, top+12+ci*14, color, color, template.HTMLEscapeString(cur))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) //nolint:gosec // every dynamic value above is escaped
}
