package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ga4-outbox/ga4-outbox/internal/demo"
	"github.com/ga4-outbox/ga4-outbox/reconcile"
)

// demoRefunds enqueues the day's refunds (whole and partial, one of an
// order never sent) after its orders.
func demoRefunds(ctx context.Context, w io.Writer, pool *pgxpool.Pool, orders []demo.Order, opts demo.Options) (demo.RefundsExpected, int, error) {
	refunds, want := demo.GenerateRefunds(orders, opts)
	if err := demo.EnqueueRefunds(ctx, pool, refunds); err != nil {
		return want, 0, fmt.Errorf("demo: %w", err)
	}
	fmt.Fprintf(w, "Enqueued %d refunds (whole and partial, one of an order never sent).\n", len(refunds))
	return want, len(refunds), nil
}

// demoRefundCheck prints whether the report's refunds section says what
// the generator knows.
func demoRefundCheck(w io.Writer, want demo.RefundsExpected, r *reconcile.Report) error {
	diffs := want.Check(r)
	if len(diffs) == 0 {
		fmt.Fprintf(w, "Check: the refunds section matches the %d generated refunds (amounts per currency, all sent, flags).\n", want.Total())
		return nil
	}
	fmt.Fprintln(w, "\nCheck: the refunds section differs from what was generated:")
	for _, d := range diffs {
		fmt.Fprintln(w, "  "+d)
	}
	return exitError{code: 1, err: errors.New("demo: the refunds section does not match the generated refunds")}
}
