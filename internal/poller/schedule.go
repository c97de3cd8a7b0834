package poller

import (
	"context"
	"time"

	"github.com/robfig/cron/v3"
)

// The only file that knows robfig/cron.

func parseSchedule(spec string) (cron.Schedule, error) {
	return cron.ParseStandard(spec)
}

// every calls f at each time of the schedule until ctx is done.
func every(ctx context.Context, sched cron.Schedule, f func()) {
	for {
		t := time.NewTimer(time.Until(sched.Next(time.Now())))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
			f()
		}
	}
}
