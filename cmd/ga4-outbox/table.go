package main

import (
	"io"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/tw"
)

// writeOpsTable prints rows under header as a plain ASCII table for the
// operator commands (status). Headers are printed as given (tablewriter
// v1 upper-cases them by default). The only file of cmd that knows
// tablewriter.
func writeOpsTable(w io.Writer, header []string, rows [][]string) error {
	t := tablewriter.NewTable(w,
		tablewriter.WithHeaderAutoFormat(tw.Off),
		tablewriter.WithHeaderAlignment(tw.AlignLeft),
		tablewriter.WithRowAlignment(tw.AlignLeft),
		tablewriter.WithSymbols(tw.NewSymbols(tw.StyleASCII)),
	)
	t.Header(header)
	if err := t.Bulk(rows); err != nil {
		return err
	}
	return t.Render()
}
