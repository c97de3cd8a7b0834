package badinput_test

import (
	"github.com/ga4-outbox/ga4-outbox/internal/config"
	"github.com/ga4-outbox/ga4-outbox/internal/delivery"
	"github.com/ga4-outbox/ga4-outbox/internal/poller"
)

// newSender returns the delivery adapter under test: the one the run and
// drain commands use, built from the sidecar configuration.
func newSender(cfg *config.Config) (poller.Sender, error) {
	return delivery.FromConfig(cfg, nil, nil)
}
