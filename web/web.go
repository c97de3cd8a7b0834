// Package web holds the browser side of ga4-outbox: ga4-ids.js, the ES module
// a checkout page uses to read the GA4 client_id, session_id and consent that
// a server-side conversion needs (see the header comment of ga4-ids.js).
//
// Go applications can serve the module straight from the binary:
//
//	mux.HandleFunc("GET /static/ga4-ids.js", web.ServeGA4IDs)
package web

import (
	_ "embed"
	"net/http"
	"strings"
	"time"
)

// GA4IDsJS is the source of ga4-ids.js.
//
//go:embed ga4-ids.js
var GA4IDsJS string

// modTime is the Unix epoch, which tells ServeContent to send no
// Last-Modified header: the module changes with the binary, not with a file.
var modTime = time.Unix(0, 0)

// ServeGA4IDs serves ga4-ids.js as a JavaScript module.
func ServeGA4IDs(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	http.ServeContent(w, r, "ga4-ids.js", modTime, strings.NewReader(GA4IDsJS))
}
