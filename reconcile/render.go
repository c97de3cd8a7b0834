package reconcile

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/renderer"
	"github.com/olekukonko/tablewriter/tw"

	"github.com/ga4-outbox/ga4-outbox/internal/printable"
)

// The output formats.
const (
	// FormatTable is for a terminal: the headline, then compact tables
	// that fit in 100 columns.
	FormatTable = "table"
	// FormatWide is the table with every bucket, column and whole text.
	FormatWide     = "wide"
	FormatMarkdown = "markdown"
	FormatCSV      = "csv"
	FormatJSON     = "json"
	FormatHTML     = "html"
)

// Formats lists every format Render accepts.
var Formats = []string{FormatTable, FormatWide, FormatMarkdown, FormatCSV, FormatJSON, FormatHTML}

// extension returns the file extension for a format ("md" for markdown,
// "txt" for table, "wide.txt" for wide).
func extension(format string) string {
	switch format {
	case FormatMarkdown:
		return "md"
	case FormatTable:
		return "txt"
	case FormatWide:
		return "wide.txt"
	}
	return format
}

// Render writes the report to w in format (one of Formats). Every format
// opens with the headline: per currency, the revenue not attributable,
// its share and its top causes.
func (r *Report) Render(w io.Writer, format string) error {
	var err error
	switch format {
	case FormatTable:
		err = r.renderTable(w, layout{})
	case FormatWide:
		err = r.renderTable(w, layout{wide: true})
	case FormatMarkdown:
		err = r.renderMarkdown(w)
	case FormatCSV:
		err = r.renderCSV(w)
	case FormatJSON:
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		err = enc.Encode(r)
	case FormatHTML:
		err = r.renderHTML(w)
	default:
		return fmt.Errorf("render report: unknown format %q (use %s)", format, strings.Join(Formats, ", "))
	}
	if err != nil {
		return fmt.Errorf("render report as %s: %w", format, err)
	}
	return nil
}

// termWidth is the width the compact table format fits in.
const termWidth = 100

// renderTable prints the headline, then each section with tablewriter
// (ASCII borders, headers as written: v1 would upper-case them by
// default, numbers right-aligned).
func (r *Report) renderTable(w io.Writer, l layout) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\ngenerated %s\n\n", r.title(), r.GeneratedAt.Format("2006-01-02 15:04:05 MST"))
	r.textHeadline(&b, l)
	for _, s := range r.sections(l) {
		fmt.Fprintf(&b, "\n%s\n", s.title)
		if s.message != "" {
			b.WriteString(s.message + "\n")
		} else if len(s.rows) == 0 {
			b.WriteString("(none)\n")
		} else if err := table(&b, s); err != nil {
			return err
		}
		for _, n := range s.notes {
			b.WriteString(n + "\n")
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func (r *Report) textHeadline(b *strings.Builder, l layout) {
	b.WriteString(strings.ToUpper(headlineTitle) + "\n")
	if len(r.Summary) == 0 {
		b.WriteString("  (no conversions in the window)\n")
	}
	for _, h := range r.headlines(l) {
		b.WriteString("  " + h.lead() + "\n")
		if h.credited != "" {
			b.WriteString("    " + h.credited + "\n")
		}
		for _, c := range h.causes {
			b.WriteString("    " + l.clip(c, termWidth-4) + "\n")
		}
	}
	for _, line := range fill(strings.Fields(headlineNote), termWidth) {
		b.WriteString(line + "\n")
	}
}

func table(w io.Writer, s section) error {
	align := make([]tw.Align, len(s.headers))
	for i := range align {
		align[i] = tw.AlignLeft
		if numericColumn(s.rows, i) {
			align[i] = tw.AlignRight
		}
	}
	t := tablewriter.NewTable(w,
		tablewriter.WithRenderer(renderer.NewBlueprint(tw.Rendition{Symbols: tw.NewSymbols(tw.StyleASCII)})),
		tablewriter.WithHeaderAutoFormat(tw.Off),
		tablewriter.WithHeaderAlignment(tw.AlignLeft),
		tablewriter.WithRowAlignmentConfig(tw.CellAlignment{Global: tw.AlignLeft, PerColumn: align}),
		tablewriter.WithRowAutoWrap(tw.WrapNone),
		tablewriter.WithTrimSpace(tw.Off),
	)
	t.Header(s.headers)
	if err := t.Bulk(s.rows); err != nil {
		return err
	}
	return t.Render()
}

// numericColumn reports whether every non-empty cell of column i is a
// number ("12.50", "-3", "33.93%", "n/a"; not a date): such columns are
// right-aligned.
func numericColumn(rows [][]string, i int) bool {
	seen := false
	for _, row := range rows {
		if i >= len(row) || row[i] == "" {
			continue
		}
		if !numeric(row[i]) && row[i] != "n/a" {
			return false
		}
		seen = true
	}
	return seen
}

func numeric(s string) bool {
	s = strings.TrimPrefix(s, "-")
	return strings.Trim(s, "0123456789.%") == "" && strings.ContainsAny(s, "0123456789")
}

func (r *Report) renderMarkdown(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\n\nGenerated %s.\n\n## %s\n\n", r.title(), r.GeneratedAt.Format("2006-01-02 15:04:05 MST"), headlineTitle)
	if len(r.Summary) == 0 {
		b.WriteString("(no conversions in the window)\n")
	}
	for _, h := range r.headlines(layout{wide: true}) {
		b.WriteString("- **" + mdEscaper.Replace(h.lead()) + "**\n")
		if h.credited != "" {
			b.WriteString("  - " + mdEscaper.Replace(h.credited) + "\n")
		}
		for _, c := range h.causes {
			b.WriteString("  - " + mdEscaper.Replace(c) + "\n")
		}
	}
	b.WriteString("\n" + headlineNote + "\n")
	for _, s := range r.sections(layout{wide: true}) {
		fmt.Fprintf(&b, "\n## %s\n\n", s.title)
		if s.message != "" {
			b.WriteString(mdEscaper.Replace(s.message) + "\n")
		} else if len(s.rows) == 0 {
			b.WriteString("(none)\n")
		} else {
			mdRow(&b, s.headers)
			b.WriteString("|")
			for i := range s.headers {
				b.WriteString(map[bool]string{true: " ---: |", false: " --- |"}[numericColumn(s.rows, i)])
			}
			b.WriteString("\n")
			for _, row := range s.rows {
				mdRow(&b, row)
			}
		}
		if len(s.notes) > 0 {
			fmt.Fprintf(&b, "\n%s\n", strings.Join(s.notes, " "))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

var mdEscaper = strings.NewReplacer("|", `\|`, "\n", " ", "<", "&lt;", "*", `\*`, "`", "\\`")

func mdRow(b *strings.Builder, cells []string) {
	b.WriteString("|")
	for _, c := range cells {
		b.WriteString(" " + mdEscaper.Replace(c) + " |")
	}
	b.WriteString("\n")
}

// renderCSV writes every section as records whose first field names the
// section; each section starts with a header record whose first field is
// "section". The headline comes first as two sections, headline and
// top_causes.
func (r *Report) renderCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	for _, s := range append(r.headlineSections(), r.sections(layout{wide: true})...) {
		if s.message != "" {
			s.headers, s.rows = []string{"message"}, [][]string{{s.message}}
		}
		if err := cw.Write(append([]string{"section"}, s.headers...)); err != nil {
			return err
		}
		for _, row := range s.rows {
			if err := cw.Write(append([]string{s.id}, slices.Clone(row)...)); err != nil {
				return err
			}
		}
	}
	cw.Flush()
	return cw.Error()
}

// headlineSections are the headline as data: revenue not attributable per
// currency, and the top causes.
func (r *Report) headlineSections() []section {
	head := section{id: "headline", headers: []string{"currency", "not attributable", "of revenue (less consent_denied)", "share"}}
	causes := section{id: "top_causes", headers: []string{"currency", "source", "bucket", "conversions", "revenue"}}
	for _, s := range r.Summary {
		cur := printable.Escape(s.Currency)
		head.rows = append(head.rows, []string{cur, s.NotAttributable.String(), s.attributableBase().String(), pct(s.NotAttributableShare)})
		for _, c := range s.TopCauses {
			causes.rows = append(causes.rows, []string{cur, printable.Escape(c.Source), c.Bucket, count(c.Conversions), c.Revenue.String()})
		}
	}
	return []section{head, causes}
}
