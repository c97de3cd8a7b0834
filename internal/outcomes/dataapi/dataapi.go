// Package dataapi reads what GA4 recorded for our purchases from the
// Google Analytics Data API (runReport, v1beta): the outcomes.Source of
// the outcome import, and the checks behind `ga4-outbox outcomes check`.
//
// It authenticates with a service-account JSON key file or Application
// Default Credentials, with the read-only scope analytics.readonly; the
// account needs the Viewer role on each property. Neither the key nor a
// token ever appears in an error or a log line.
package dataapi

import (
	"cmp"
	"context"
	"fmt"
	"regexp"
	"strings"

	analyticsdata "google.golang.org/api/analyticsdata/v1beta"
	"google.golang.org/api/option"

	"github.com/ga4-outbox/ga4-outbox/internal/outcomes"
)

// The dimensions and metrics a lookup asks for, in request order.
var (
	Dimensions = []string{"transactionId", "sessionDefaultChannelGroup", "sessionSourceMedium", "sessionCampaignName"}
	Metrics    = []string{"purchaseRevenue", "ecommercePurchases"}
)

// DefaultPageSize is the rows per runReport page: the Data API's default.
const DefaultPageSize = 10000

// Config says how to reach the Data API.
type Config struct {
	// CredentialsFile is a service-account JSON key file. Empty: Application
	// Default Credentials (GOOGLE_APPLICATION_CREDENTIALS, gcloud's, or the
	// metadata server's).
	CredentialsFile string
	// Endpoint replaces https://analyticsdata.googleapis.com/ (an emulator,
	// a test server). Empty: Google's.
	Endpoint string
	// PageSize is the rows asked per runReport page. Defaults to 10000.
	PageSize int64
	// Options are further client options, appended last (tests pass
	// option.WithoutAuthentication).
	Options []option.ClientOption
}

// Client is the Data API source. It is safe for concurrent use.
type Client struct {
	svc      *analyticsdata.Service
	pageSize int64
}

var _ outcomes.Source = (*Client)(nil)

// New returns a client with the credentials of cfg. A credentials file
// that is missing, unreadable or not a service-account key is an error
// wrapping outcomes.ErrCredentials that names the file, never its content.
func New(ctx context.Context, cfg Config) (*Client, error) {
	opts := []option.ClientOption{option.WithScopes(analyticsdata.AnalyticsReadonlyScope)}
	if cfg.CredentialsFile != "" {
		key, err := readKey(cfg.CredentialsFile)
		if err != nil {
			return nil, err
		}
		opts = append(opts, option.WithAuthCredentialsJSON(option.ServiceAccount, key))
	}
	if cfg.Endpoint != "" {
		opts = append(opts, option.WithEndpoint(strings.TrimSuffix(cfg.Endpoint, "/")+"/"))
	}
	svc, err := analyticsdata.NewService(ctx, append(opts, cfg.Options...)...)
	if err != nil {
		return nil, newServiceError(cfg.CredentialsFile, err)
	}
	return &Client{svc: svc, pageSize: cmp.Or(cfg.PageSize, DefaultPageSize)}, nil
}

// newServiceError explains a client that could not be built: most often
// no Application Default Credentials.
func newServiceError(file string, err error) error {
	if file != "" {
		return fmt.Errorf("%w: credentials file %s: %s", outcomes.ErrCredentials, file, safeMessage(err))
	}
	return fmt.Errorf("%w: no Application Default Credentials (set outcomes.credentials_file to a service-account key file, "+
		"or GOOGLE_APPLICATION_CREDENTIALS): %s", outcomes.ErrCredentials, safeMessage(err))
}

var propertyIDRe = regexp.MustCompile(`^[0-9]{1,20}$`)

// resource returns "properties/<id>" or an error for an id that is not the
// numeric property id.
func resource(propertyID string) (string, error) {
	if !propertyIDRe.MatchString(propertyID) {
		return "", fmt.Errorf("property id %q: must be the numeric GA4 property id (Admin > Property details), not the G- measurement id", propertyID)
	}
	return "properties/" + propertyID, nil
}
