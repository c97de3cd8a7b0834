package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/ga4-outbox/ga4-outbox/internal/poller"
)

// deliveryProgress returns a callback for poller.Poller.Drain that shows
// how many of total rows are done (delivered, failed or skipped): a
// progress bar when w is a terminal, else one plain line per tenth. finish
// ends the bar's line. The only file of cmd that knows progressbar; drain
// can use it too.
func deliveryProgress(w io.Writer, total int64) (update func(poller.Stats), finish func()) {
	if !isTerminal(w) {
		next := int64(0)
		return func(s poller.Stats) {
			done := s.Delivered + s.Failed + s.Skipped
			if done >= next || done == total {
				fmt.Fprintf(w, "progress: %d/%d rows done (delivered %d, skipped %d, failed %d, retried %d)\n",
					done, total, s.Delivered, s.Skipped, s.Failed, s.Retried)
				next = done + max(total/10, 1)
			}
		}, func() {}
	}
	bar := progressbar.NewOptions64(total, progressbar.OptionSetWriter(w), progressbar.OptionSetDescription("delivering"),
		progressbar.OptionShowCount(), progressbar.OptionSetWidth(30), progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionSetPredictTime(false))
	return func(s poller.Stats) {
		_ = bar.Set64(min(s.Delivered+s.Failed+s.Skipped, total))
	}, func() { _ = bar.Finish(); fmt.Fprintln(w) }
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
