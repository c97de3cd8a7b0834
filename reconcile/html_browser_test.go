package reconcile_test

import (
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ga4-outbox/ga4-outbox/internal/browsertest"
	"github.com/ga4-outbox/ga4-outbox/reconcile"
)

// TestHTMLInChromium opens the HTML report in headless Chromium: the page
// renders from itself alone (the server answers 404 to anything but the
// page, so an external asset would be missing) and a screenshot is kept in
// testdata/artifacts/report.png at the repository root (not committed).
func TestHTMLInChromium(t *testing.T) {
	t.Parallel()
	browsertest.Require(t)
	r := build(t, setup(t), true)
	page := render(t, r, reconcile.FormatHTML)

	var mu sync.Mutex
	var other []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.URL.Path != "/report.html" {
			if req.URL.Path != "/favicon.ico" { // the browser asks for it on its own
				mu.Lock()
				other = append(other, req.URL.Path)
				mu.Unlock()
			}
			http.NotFound(w, req)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(page))
	}))
	defer srv.Close()

	dom := browsertest.DumpDOM(t, srv.URL+"/report.html", 0)
	require.Contains(t, dom, "<svg", "the chart is inline SVG")
	require.Contains(t, dom, "attributable")

	dir := filepath.Join("..", "testdata", "artifacts")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	shot := filepath.Join(dir, "report.png")
	browsertest.ScreenshotSize(t, srv.URL+"/report.html", shot, 1280, 1600)
	f, err := os.Open(shot)
	require.NoError(t, err)
	defer f.Close()
	img, err := png.Decode(f)
	require.NoError(t, err)
	require.Equal(t, 1280, img.Bounds().Dx())
	mu.Lock()
	defer mu.Unlock()
	require.Empty(t, other, "the page asked for an external asset")
}
