package dataapi

import (
	"context"
	"errors"
	"fmt"
	"strings"

	analyticsdata "google.golang.org/api/analyticsdata/v1beta"
)

// ErrIncompatible: the property says the lookup's dimensions and metrics
// cannot be queried together.
var ErrIncompatible = errors.New("incompatible dimensions and metrics")

// Check verifies that the credentials reach the property and that it can
// answer the lookup: one checkCompatibility call with the lookup's
// dimensions and metrics. Access, credential and quota errors wrap the
// outcomes sentinels; incompatible fields wrap ErrIncompatible and are
// named.
func (c *Client) Check(ctx context.Context, propertyID string) error {
	name, err := resource(propertyID)
	if err != nil {
		return fmt.Errorf("checkCompatibility: %w", err)
	}
	req := &analyticsdata.CheckCompatibilityRequest{}
	for _, d := range Dimensions {
		req.Dimensions = append(req.Dimensions, &analyticsdata.Dimension{Name: d})
	}
	for _, m := range Metrics {
		req.Metrics = append(req.Metrics, &analyticsdata.Metric{Name: m})
	}
	resp, err := c.svc.Properties.CheckCompatibility(name, req).Context(ctx).Do()
	if err != nil {
		return apiError("checkCompatibility", propertyID, err)
	}
	if bad := incompatible(resp); len(bad) > 0 {
		return fmt.Errorf("checkCompatibility property %s: %w: %s (the property cannot report transactionId with "+
			"the session's channel, source / medium and campaign)", propertyID, ErrIncompatible, strings.Join(bad, ", "))
	}
	return nil
}

// incompatible lists the fields the answer does not call COMPATIBLE,
// including those it leaves out.
func incompatible(resp *analyticsdata.CheckCompatibilityResponse) []string {
	got := map[string]string{}
	for _, d := range resp.DimensionCompatibilities {
		if d != nil && d.DimensionMetadata != nil {
			got[d.DimensionMetadata.ApiName] = d.Compatibility
		}
	}
	for _, m := range resp.MetricCompatibilities {
		if m != nil && m.MetricMetadata != nil {
			got[m.MetricMetadata.ApiName] = m.Compatibility
		}
	}
	var bad []string
	for _, n := range append(append([]string{}, Dimensions...), Metrics...) {
		switch c := got[n]; c {
		case "COMPATIBLE":
		case "":
			bad = append(bad, n+" (not in the answer)")
		default:
			bad = append(bad, n+" ("+c+")")
		}
	}
	return bad
}
