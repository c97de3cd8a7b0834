package dataapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/ga4-outbox/ga4-outbox/internal/outcomes"
)

// maxKeySize bounds the key file read: a service-account key is about 2 kB.
const maxKeySize = 64 << 10

// readKey reads a service-account key file and checks its shape. Errors
// name the file and the rule, never a byte of its content.
func readKey(path string) ([]byte, error) {
	fail := func(rule string) error {
		return fmt.Errorf("%w: credentials file %s: %s", outcomes.ErrCredentials, path, rule)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fail("cannot read: " + err.Error())
	}
	if len(b) > maxKeySize {
		return nil, fail(fmt.Sprintf("%d bytes: not a service-account key (about 2 kB)", len(b)))
	}
	var key struct {
		Type        string `json:"type"`
		ClientEmail string `json:"client_email"`
		PrivateKey  string `json:"private_key"`
	}
	if err := json.Unmarshal(b, &key); err != nil {
		return nil, fail("not a JSON service-account key (download one in Google Cloud: IAM > Service accounts > Keys)")
	}
	switch {
	case key.Type != "service_account":
		return nil, fail(fmt.Sprintf("type %q: must be a service-account key (type service_account); "+
			"for other credentials leave outcomes.credentials_file empty and use Application Default Credentials", clipType(key.Type)))
	case key.ClientEmail == "" || key.PrivateKey == "":
		return nil, fail("a service-account key needs client_email and private_key")
	}
	return b, nil
}

// clipType keeps an unexpected type value short: it is printed.
func clipType(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}
