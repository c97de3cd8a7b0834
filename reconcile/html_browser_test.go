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
// page, so an external asset would be missing), and at a desktop (1280 x
// 800) and a phone (390 x 844) size the whole headline box is on the first
// screen. The screenshots are kept in testdata/artifacts/report-*.png at
// the repository root (not committed).
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
	for _, size := range []struct {
		name string
		w, h int
	}{{"desktop", 1280, 800}, {"phone", 390, 844}} {
		t.Run("headline visible without scrolling at "+size.name+" width", func(t *testing.T) {
			shot := filepath.Join(dir, "report-"+size.name+".png")
			browsertest.ScreenshotSize(t, srv.URL+"/report.html", shot, size.w, size.h)
			top, bottom, right := headlineBox(t, shot, size.w, size.h)
			require.Less(t, top, 60, "the headline opens the page")
			require.Less(t, bottom, size.h-8, "the whole headline box is in the first screen (it ends at y=%d)", bottom)
			require.Less(t, right, size.w-4, "the headline box fits the width (it ends at x=%d)", right)
		})
	}
	mu.Lock()
	defer mu.Unlock()
	require.Empty(t, other, "the page asked for an external asset")
}

// headlineBox finds the headline's background colour (#fff8c5) in a
// screenshot of w x h pixels: its first and last row and last column.
func headlineBox(t *testing.T, path string, w, h int) (top, bottom, right int) {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	img, err := png.Decode(f)
	require.NoError(t, err)
	require.Equal(t, w, img.Bounds().Dx())
	require.Equal(t, h, img.Bounds().Dy())
	top, n := -1, 0
	for y := range h {
		for x := range w {
			r, g, b, _ := img.At(x, y).RGBA()
			if r>>8 == 0xff && g>>8 == 0xf8 && b>>8 == 0xc5 {
				if top < 0 {
					top = y
				}
				bottom, right, n = y, max(right, x), n+1
			}
		}
	}
	require.Greater(t, n, w*20, "the headline box is on the first screen")
	return top, bottom, right
}
