package main

import (
	"io"
	"strconv"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/tw"
)

// writeOpsTable prints rows under header as a plain ASCII table for the
// operator commands (status). Headers are printed as given (tablewriter
// v1 upper-cases them by default); columns of whole numbers are
// right-aligned. The only file of cmd that knows tablewriter.
func writeOpsTable(w io.Writer, header []string, rows [][]string) error {
	align := make([]tw.Align, len(header))
	for c := range align {
		align[c] = tw.AlignLeft
		if integerColumn(rows, c) {
			align[c] = tw.AlignRight
		}
	}
	t := tablewriter.NewTable(w,
		tablewriter.WithHeaderAutoFormat(tw.Off),
		tablewriter.WithHeaderAlignment(tw.AlignLeft),
		tablewriter.WithRowAlignmentConfig(tw.CellAlignment{Global: tw.AlignLeft, PerColumn: align}),
		tablewriter.WithSymbols(tw.NewSymbols(tw.StyleASCII)),
	)
	t.Header(header)
	if err := t.Bulk(rows); err != nil {
		return err
	}
	return t.Render()
}

func integerColumn(rows [][]string, c int) bool {
	for _, row := range rows {
		if _, err := strconv.ParseInt(row[c], 10, 64); err != nil {
			return false
		}
	}
	return len(rows) > 0
}
