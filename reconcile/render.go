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
)

// The output formats.
const (
	FormatTable    = "table"
	FormatMarkdown = "markdown"
	FormatCSV      = "csv"
	FormatJSON     = "json"
	FormatHTML     = "html"
)

// Formats lists every format Render accepts.
var Formats = []string{FormatTable, FormatMarkdown, FormatCSV, FormatJSON, FormatHTML}

// Extension returns the file extension for a format ("md" for markdown,
// "txt" for table).
func Extension(format string) string {
	switch format {
	case FormatMarkdown:
		return "md"
	case FormatTable:
		return "txt"
	}
	return format
}

// Render writes the report to w in format (one of Formats).
func (r *Report) Render(w io.Writer, format string) error {
	var err error
	switch format {
	case FormatTable:
		err = r.renderTable(w)
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

// renderTable prints each section with tablewriter (ASCII borders, headers
// as written: v1 would upper-case them by default).
func (r *Report) renderTable(w io.Writer) error {
	if _, err := fmt.Fprintf(w, "%s\ngenerated %s\n", r.title(), r.GeneratedAt.Format("2006-01-02 15:04:05 MST")); err != nil {
		return err
	}
	for _, s := range r.sections() {
		if _, err := fmt.Fprintf(w, "\n%s\n", s.title); err != nil {
			return err
		}
		if len(s.rows) == 0 {
			if _, err := fmt.Fprintln(w, "(none)"); err != nil {
				return err
			}
		} else if err := table(w, s); err != nil {
			return err
		}
		for _, n := range s.notes {
			if _, err := fmt.Fprintln(w, n); err != nil {
				return err
			}
		}
	}
	return nil
}

func table(w io.Writer, s section) error {
	t := tablewriter.NewTable(w,
		tablewriter.WithRenderer(renderer.NewBlueprint(tw.Rendition{Symbols: tw.NewSymbols(tw.StyleASCII)})),
		tablewriter.WithHeaderAutoFormat(tw.Off),
		tablewriter.WithHeaderAlignment(tw.AlignLeft),
		tablewriter.WithRowAutoWrap(tw.WrapNone),
	)
	t.Header(s.headers)
	if err := t.Bulk(s.rows); err != nil {
		return err
	}
	return t.Render()
}

func (r *Report) renderMarkdown(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\n\nGenerated %s.\n", r.title(), r.GeneratedAt.Format("2006-01-02 15:04:05 MST"))
	for _, s := range r.sections() {
		fmt.Fprintf(&b, "\n## %s\n\n", s.title)
		if len(s.rows) == 0 {
			b.WriteString("(none)\n")
		} else {
			mdRow(&b, s.headers)
			b.WriteString("|" + strings.Repeat(" --- |", len(s.headers)) + "\n")
			for _, row := range s.rows {
				mdRow(&b, row)
			}
		}
		for _, n := range s.notes {
			fmt.Fprintf(&b, "\n%s\n", n)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

var mdEscaper = strings.NewReplacer("|", `\|`, "\n", " ", "<", "&lt;")

func mdRow(b *strings.Builder, cells []string) {
	b.WriteString("|")
	for _, c := range cells {
		b.WriteString(" " + mdEscaper.Replace(c) + " |")
	}
	b.WriteString("\n")
}

// renderCSV writes every section as records whose first field names the
// section; each section starts with a header record whose first field is
// "section".
func (r *Report) renderCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	for _, s := range r.sections() {
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
