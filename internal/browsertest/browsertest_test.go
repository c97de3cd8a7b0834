package browsertest_test

import (
	"fmt"
	"image/color"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ga4-outbox/ga4-outbox/internal/browsertest"
)

// serve answers every request with body as HTML.
func serve(t *testing.T, body string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestDumpDOM(t *testing.T) {
	t.Parallel()
	url := serve(t, `<!doctype html><p id="out">before</p>
<script>setTimeout(() => { document.getElementById('out').textContent = 'after 5s'; }, 5000);</script>`)

	dom := browsertest.DumpDOM(t, url, 0)

	require.Contains(t, dom, `<p id="out">after 5s</p>`, "timers ran in virtual time before the dump")
}

func TestScreenshot(t *testing.T) {
	t.Parallel()
	url := serve(t, `<!doctype html><style>html{background:#ff0000}</style>
<script>setTimeout(() => { document.documentElement.style.background = '#0000ff'; }, 2000);</script>`)
	path := filepath.Join(t.TempDir(), "artifacts", "shot.png")

	browsertest.ScreenshotSize(t, url, path, 400, 300)

	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	img, err := png.Decode(f)
	require.NoError(t, err, "a PNG")
	require.Equal(t, 400, img.Bounds().Dx())
	require.Equal(t, 300, img.Bounds().Dy())
	r, g, b, _ := img.At(200, 150).RGBA()
	require.Equal(t, color.RGBA{0, 0, 255, 255}, color.RGBA{uint8(r >> 8), uint8(g >> 8), uint8(b >> 8), 255},
		"the page after its timers ran in virtual time")
}

func TestFindHonoursEnv(t *testing.T) {
	t.Setenv(browsertest.EnvBrowser, "/nonexistent/chromium")
	_, err := browsertest.Find()
	require.Error(t, err)
	require.True(t, strings.Contains(err.Error(), "/nonexistent/chromium"), err.Error())
}
