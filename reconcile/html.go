package reconcile

import (
	"fmt"
	"html/template"
	"io"
	"math/big"
	"slices"
	"strings"

	"github.com/ga4-outbox/ga4-outbox/internal/printable"
)

// The HTML report is one self-contained page (inline CSS and SVG, no
// scripts, no external assets) that reads from a phone to a wide screen:
// the headline first, then revenue by cause per source and per day as
// stacked bars (per currency: currencies are never drawn on one scale),
// the attributable-share trend over the last nightly runs, and the
// sections' tables, each scrolling sideways on its own when too wide.
var htmlPage = template.Must(template.New("report").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:0 auto;max-width:72rem;padding:1rem;color:#1f2328;line-height:1.4}
h1{font-size:1.25rem;margin:.2rem 0}h2{font-size:1.1rem;margin-top:2rem}h3{font-size:1rem;margin:1.2rem 0 .4rem}
p.note,.window{color:#57606a;font-size:.85rem;margin:.2rem 0}
#headline{background:#fff8c5;border:1px solid #d4a72c;border-radius:8px;padding:.8rem 1rem}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(17rem,1fr));gap:.6rem 1.5rem;margin-top:.5rem}
.big{font-size:2rem;font-weight:700;line-height:1.1}.big small{font-size:1rem;font-weight:600}
.card ol{margin:.3rem 0 0;padding-left:1.2rem;font-size:.9rem}
.legend{display:flex;flex-wrap:wrap;gap:.3rem .9rem;font-size:.8rem;margin:.4rem 0}
.legend i,.bar i{display:inline-block}.legend i{width:.8rem;height:.8rem;margin-right:.25rem;vertical-align:-.1rem}
.bars{display:grid;grid-template-columns:minmax(4rem,max-content) 1fr max-content;gap:.25rem .5rem;align-items:center;font-size:.85rem}
.bars .label{overflow:hidden;text-overflow:ellipsis;white-space:nowrap;max-width:12rem}
.bar{display:flex;height:1rem;background:#f6f8fa}.bar i{height:100%}
.total{font-variant-numeric:tabular-nums;text-align:right}
{{range $i, $c := .Colors}}.b{{$i}}{background:{{$c}}}
{{end}}.scroll{overflow-x:auto;max-width:100%}
table{border-collapse:collapse;margin:.5rem 0;font-size:.85rem}
th,td{border:1px solid #d0d7de;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#f6f8fa}td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.trend{width:100%;max-width:36rem;height:auto}.trend text{font-size:11px;fill:#57606a}
</style>
</head>
<body>
<header id="headline">
<h1>{{.Headline}}</h1>
<p class="window">{{.Window}}</p>
<div class="cards">
{{range .Heads}}<div class="card"><div class="big">{{.Share}} <small>of {{.Currency}} revenue</small></div>
<div><b>{{.Lost}} {{.Currency}}</b> of {{.Base}} not attributable</div>
{{if .Credited}}<div>{{.Credited}}</div>
{{end}}{{if .Causes}}<ol>{{range .Causes}}<li>{{.}}</li>{{end}}</ol>{{end}}</div>
{{else}}<p>No conversions in the window.</p>
{{end}}</div>
<p class="note">{{.Note}}</p>
</header>
{{if .Charts}}<h2>Revenue by cause</h2>
<div class="legend">{{range .Legend}}<span><i class="b{{.Index}}"></i>{{.Name}}</span>{{end}}</div>
{{range .Charts}}<h3>{{.Title}}</h3>
<div class="bars">{{range .Bars}}<span class="label" title="{{.Label}}">{{.Label}}</span><span class="bar">{{range .Segs}}<i class="b{{.Index}}" style="{{.Width}}" title="{{.Title}}"></i>{{end}}</span><span class="total">{{.Total}}</span>
{{end}}</div>
{{end}}{{end}}<h2>Attributable share, last nightly runs</h2>
{{.Trend}}
{{range .Sections}}<h2>{{.Title}}</h2>
{{if .Message}}<p>{{.Message}}</p>
{{else if .Rows}}<div class="scroll"><table>
<tr>{{range .Headers}}<th>{{.}}</th>{{end}}</tr>
{{range .Rows}}<tr>{{range .}}<td{{if .Num}} class="n"{{end}}>{{.Text}}</td>{{end}}</tr>
{{end}}</table></div>
{{else}}<p>(none)</p>
{{end}}{{range .Notes}}<p class="note">{{.}}</p>
{{end}}{{end}}<p class="note">Generated {{.Generated}}.</p>
</body>
</html>
`))

// bucketColors are the bars' colours, by bucket in Buckets order.
var bucketColors = []template.CSS{"#8c959f", "#1a7f37", "#cf222e", "#bc4c00", "#d4a72c", "#8250df", "#57606a", "#82071e", "#0969da", "#1f2328"}

type htmlCell struct {
	Text string
	Num  bool
}

type htmlSection struct {
	Title   string
	Message string
	Headers []string
	Rows    [][]htmlCell
	Notes   []string
}

type htmlHead struct {
	Currency, Share, Lost, Base string
	Credited                    string
	Causes                      []string
}

type htmlLegend struct {
	Index int
	Name  string
}

type htmlChart struct {
	Title string
	Bars  []htmlBar
}

type htmlBar struct {
	Label, Total string
	Segs         []htmlSeg
}

type htmlSeg struct {
	Index int
	Width template.CSS
	Title string
}

func (r *Report) renderHTML(w io.Writer) error {
	data := struct {
		Title, Headline, Window, Note, Generated string
		Colors                                   []template.CSS
		Heads                                    []htmlHead
		Legend                                   []htmlLegend
		Charts                                   []htmlChart
		Trend                                    template.HTML
		Sections                                 []htmlSection
	}{Title: r.title(), Headline: headlineTitle, Note: headlineNote, Colors: bucketColors,
		Window:    fmt.Sprintf("%s to %s UTC, business time", r.Since.Format("2006-01-02 15:04"), r.Until.Format("2006-01-02 15:04")),
		Generated: r.GeneratedAt.Format("2006-01-02 15:04:05 MST"), Trend: r.trendSVG()}
	for _, h := range r.headlines(layout{wide: true}) {
		data.Heads = append(data.Heads, htmlHead{Currency: h.currency, Share: h.share, Lost: h.lost, Base: h.base, Credited: h.credited, Causes: h.causes})
	}
	for i, b := range Buckets {
		data.Legend = append(data.Legend, htmlLegend{Index: i, Name: b})
	}
	data.Charts = r.barCharts()
	for _, s := range r.sections(layout{wide: true}) {
		hs := htmlSection{Title: s.title, Message: s.message, Headers: s.headers, Notes: []string{strings.Join(s.notes, " ")}}
		if len(s.notes) == 0 {
			hs.Notes = nil
		}
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

// barCharts draws, per currency, one stacked bar per source and one per
// day: the revenue of each bucket, bars scaled to the largest of the
// chart. A one-day window still shows every source's causes.
func (r *Report) barCharts() []htmlChart {
	var out []htmlChart
	for _, s := range r.Summary {
		for _, dim := range []struct {
			name string
			rows []Row
		}{{"per source", r.BySource}, {"per day", r.ByDay}} {
			c := htmlChart{Title: fmt.Sprintf("%s, %s", printable.Escape(s.Currency), dim.name)}
			var scale Amount
			for _, row := range dim.rows {
				if row.Currency == s.Currency && row.Revenue.cmp(scale) > 0 {
					scale = row.Revenue
				}
			}
			for _, row := range dim.rows {
				if row.Currency == s.Currency && scale.r.Sign() > 0 {
					c.Bars = append(c.Bars, bar(row, scale))
				}
			}
			if len(c.Bars) > 0 {
				out = append(out, c)
			}
		}
	}
	return out
}

func bar(row Row, scale Amount) htmlBar {
	b := htmlBar{Label: printable.Escape(row.Key), Total: row.Revenue.String()}
	for _, x := range row.Buckets {
		if x.Revenue.r.Sign() <= 0 {
			continue
		}
		f, _ := new(big.Rat).Quo(&x.Revenue.r, &scale.r).Float64()
		b.Segs = append(b.Segs, htmlSeg{Index: slices.Index(Buckets, x.Bucket), Width: template.CSS(fmt.Sprintf("width:%.2f%%", f*100)),
			Title: fmt.Sprintf("%s: %s %s (%s)", x.Bucket, x.Revenue, printable.Escape(row.Currency), plural(x.Conversions, "conversion"))})
	}
	return b
}

// trendPoint is one x position of the trend chart: a stored nightly run,
// or this report.
type trendPoint struct {
	label  string
	shares map[string]*float64 // by currency
}

// trendSVG draws the attributable share of the stored nightly runs and of
// this report, one line per currency, 0 to 100 %. Currencies differ in
// colour, dash and marker, so one never hides another.
func (r *Report) trendSVG() template.HTML {
	points, currencies := r.trendPoints()
	if len(currencies) == 0 {
		return template.HTML(`<p>(no revenue to share)</p>`)
	}
	const w, h, left, top, plotW, plotH = 440, 190, 34, 10, 300, 140
	x := func(i int) float64 {
		if len(points) == 1 {
			return left + plotW/2
		}
		return left + float64(i)*plotW/float64(len(points)-1)
	}
	y := func(share float64) float64 { return top + plotH*(1-share) }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="trend" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" role="img" aria-label="attributable share of revenue per nightly run">`, w, h)
	for _, g := range []float64{0, 0.5, 1} {
		fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#d0d7de"/><text x="0" y="%.1f">%d%%</text>`,
			left, left+plotW, y(g), y(g), y(g)+4, int(g*100))
	}
	for _, i := range []int{0, len(points) - 1} {
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">%s</text>`, x(i), top+plotH+16, template.HTMLEscapeString(points[i].label))
		if len(points) == 1 {
			break
		}
	}
	dashes := []string{"", "6 3", "2 3", "8 3 2 3"}
	for ci, cur := range currencies {
		color, dash := trendColors[ci%len(trendColors)], dashes[ci%len(dashes)]
		var pts []string
		for i, p := range points {
			if s := p.shares[cur]; s != nil {
				pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(i), y(*s)))
				marker(&b, ci, x(i), y(*s), color, fmt.Sprintf("%s %s: %s", p.label, cur, pct(s)))
			}
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2" stroke-dasharray="%s" points="%s"/>`, color, dash, strings.Join(pts, " "))
		last := points[len(points)-1].shares[cur]
		fmt.Fprintf(&b, `<text x="%d" y="%d" style="fill:%s">%s %s</text>`, left+plotW+8, top+12+ci*14, color,
			template.HTMLEscapeString(cur), pct(last))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) //nolint:gosec // every dynamic value above is escaped
}

var trendColors = []string{"#0969da", "#cf222e", "#1a7f37", "#8250df", "#bf8700"}

// marker draws currency ci's point: a circle, a square, a diamond, ...
func marker(b *strings.Builder, ci int, x, y float64, color, title string) {
	title = template.HTMLEscapeString(title)
	switch ci % 3 {
	case 0:
		fmt.Fprintf(b, `<circle cx="%.1f" cy="%.1f" r="4" fill="%s"><title>%s</title></circle>`, x, y, color, title)
	case 1:
		fmt.Fprintf(b, `<rect x="%.1f" y="%.1f" width="8" height="8" fill="none" stroke="%s" stroke-width="2"><title>%s</title></rect>`, x-4, y-4, color, title)
	default:
		fmt.Fprintf(b, `<path d="M%.1f %.1fl5 5-5 5-5-5z" fill="%s"><title>%s</title></path>`, x, y-5, color, title)
	}
}

// trendPoints are the stored runs' shares, oldest first, then this
// report's; and the currencies that have a share in any of them.
func (r *Report) trendPoints() ([]trendPoint, []string) {
	var points []trendPoint
	var currencies []string
	for _, h := range r.History {
		label := h.Since.Format("01-02")
		if len(points) == 0 || points[len(points)-1].label != label {
			points = append(points, trendPoint{label: label, shares: map[string]*float64{}})
		}
		points[len(points)-1].shares[printable.Escape(h.Currency)] = h.AttributableShare
		if h.AttributableShare != nil {
			currencies = append(currencies, printable.Escape(h.Currency))
		}
	}
	now := trendPoint{label: "this report", shares: map[string]*float64{}}
	for _, s := range r.Summary {
		now.shares[printable.Escape(s.Currency)] = s.AttributableShare
		if s.AttributableShare != nil {
			currencies = append(currencies, printable.Escape(s.Currency))
		}
	}
	slices.Sort(currencies)
	return append(points, now), slices.Compact(currencies)
}
