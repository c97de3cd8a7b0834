package dataapi

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"cloud.google.com/go/auth"
	"google.golang.org/api/googleapi"

	"github.com/ga4-outbox/ga4-outbox/internal/outcomes"
)

// apiError maps an error of a Data API call on a property to a message a
// user can act on, wrapping the outcomes sentinel it matches.
func apiError(op, propertyID string, err error) error {
	var ge *googleapi.Error
	if errors.As(err, &ge) {
		return fmt.Errorf("%s property %s: %w", op, propertyID, googleError(ge, propertyID))
	}
	var ae *auth.Error
	if errors.As(err, &ae) {
		return fmt.Errorf("%s property %s: %w: Google refused the credentials: %s", op, propertyID, outcomes.ErrCredentials, safeMessage(err))
	}
	return fmt.Errorf("%s property %s: %w", op, propertyID, err)
}

// googleError explains an error answer of the Data API.
func googleError(ge *googleapi.Error, propertyID string) error {
	msg := strings.TrimSpace(ge.Message)
	switch {
	case ge.Code == http.StatusTooManyRequests || strings.Contains(ge.Body, "RESOURCE_EXHAUSTED"):
		return fmt.Errorf("%w (HTTP %d RESOURCE_EXHAUSTED: %s); the next run resumes", outcomes.ErrQuotaExhausted, ge.Code, msg)
	case ge.Code == http.StatusUnauthorized:
		return fmt.Errorf("%w: the Data API rejected the credentials (HTTP 401: %s)", outcomes.ErrCredentials, msg)
	case ge.Code == http.StatusForbidden && serviceDisabled(ge):
		return fmt.Errorf("%w: the Google Analytics Data API is not enabled in the service account's Google Cloud project "+
			"(APIs & Services > Enable APIs: \"Google Analytics Data API\"): %s", outcomes.ErrPermissionDenied, msg)
	case ge.Code == http.StatusForbidden:
		return fmt.Errorf("%w: the account needs the Viewer role on GA4 property %s "+
			"(Admin > Property access management > add the service account's email as Viewer): %s", outcomes.ErrPermissionDenied, propertyID, msg)
	case ge.Code == http.StatusNotFound:
		return fmt.Errorf("%w: GA4 property %s does not exist (use the numeric property id from Admin > Property details, not the G- measurement id): %s",
			outcomes.ErrPropertyNotFound, propertyID, msg)
	}
	return fmt.Errorf("HTTP %d: %s", ge.Code, msg)
}

func serviceDisabled(ge *googleapi.Error) bool {
	return strings.Contains(ge.Body, "SERVICE_DISABLED") || strings.Contains(ge.Message, "has not been used in project")
}

// safeMessage returns err's message on one line. The errors of Google's
// client and auth libraries name files and say what failed, never a key;
// this only keeps them short.
func safeMessage(err error) string {
	s := strings.Join(strings.Fields(err.Error()), " ")
	if len(s) > 300 {
		s = s[:300] + "..."
	}
	return s
}
