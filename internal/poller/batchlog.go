package poller

import (
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ga4-outbox/ga4-outbox/outbox"
)

// batchWarnEvery is the least time between two warnings about batches
// that had retries, skips or failures; the batches in between are counted
// in the next warning.
const batchWarnEvery = 10 * time.Second

// batchWarner rate-limits the per-batch warning.
type batchWarner struct {
	mu     sync.Mutex
	last   time.Time
	missed int
}

// allow reports whether a warning may be written now, and how many
// batches were not reported since the last one.
func (w *batchWarner) allow(now time.Time) (ok bool, missed int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.last.IsZero() && now.Sub(w.last) < batchWarnEvery {
		w.missed++
		return false, 0
	}
	missed, w.missed, w.last = w.missed, 0, now
	return true, missed
}

// warnBatch writes one warning for a batch whose rows were not all
// delivered: counts by outcome and reason, and the first error text (the
// Sender's errors never carry the api_secret).
func (p *Poller) warnBatch(results []Result, marked []bool, now time.Time) {
	counts := map[string]int{}
	first := ""
	for i := range results {
		res := &results[i]
		if !marked[i] || res.Status == outbox.StatusDelivered {
			continue
		}
		counts[outcomeKey(res)]++
		if first == "" {
			first = res.Error
		}
	}
	if len(counts) == 0 {
		return
	}
	ok, missed := p.warner.allow(now)
	if !ok {
		return
	}
	p.log.Warn("outbox batch not fully delivered", logKeyRows, len(results),
		logKeyOutcomes, formatCounts(counts), logKeyFirstError, first, logKeyBatchesNotLogged, missed)
}

// outcomeKey names a result's outcome: retried, unsent, failed/REASON or
// skipped/REASON.
func outcomeKey(res *Result) string {
	switch {
	case res.Status == outbox.StatusPending && res.Unsent:
		return "unsent"
	case res.Status == outbox.StatusPending:
		return "retried"
	}
	return res.Status + "/" + res.Reason
}

// formatCounts writes counts as "key=n key=n", keys sorted.
func formatCounts(counts map[string]int) string {
	var sb strings.Builder
	for _, k := range slices.Sorted(maps.Keys(counts)) {
		if sb.Len() > 0 {
			sb.WriteByte(' ')
		}
		sb.WriteString(k + "=" + strconv.Itoa(counts[k]))
	}
	return sb.String()
}
