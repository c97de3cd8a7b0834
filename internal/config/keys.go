package config

import (
	"fmt"
	"reflect"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
)

// checkKeys walks the YAML document along the Config type and reports what
// the decoder would let through: keys Config does not have (with the
// nearest known key) and fractional numbers for whole-number keys, which
// yaml.v3 truncates (batch_size: 1.5 would be 1).
func checkKeys(doc *yaml.Node) []error {
	var errs []error
	checkNode(doc, reflect.TypeFor[Config](), "", &errs)
	return errs
}

var durationType = reflect.TypeFor[Duration]()

func checkNode(n *yaml.Node, t reflect.Type, path string, errs *[]error) {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if n.Kind == yaml.DocumentNode {
		for _, c := range n.Content {
			checkNode(c, t, path, errs)
		}
		return
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t.Kind() == reflect.Struct && n.Kind == yaml.MappingNode:
		checkMapping(n, t, path, errs)
	case t.Kind() == reflect.Slice && n.Kind == yaml.SequenceNode:
		for i, c := range n.Content {
			checkNode(c, t.Elem(), fmt.Sprintf("%s[%d]", path, i), errs)
		}
	case isWholeNumber(t) && n.Kind == yaml.ScalarNode && n.ShortTag() == "!!float":
		*errs = append(*errs, &FieldError{Key: path, Rule: fmt.Sprintf("%s is not a whole number (line %d)", n.Value, n.Line)})
	}
}

func checkMapping(n *yaml.Node, t reflect.Type, path string, errs *[]error) {
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Value == "<<" { // a merge key: its mappings hold this type's keys
			checkNode(v, t, path, errs)
			if v.Kind == yaml.SequenceNode {
				for _, c := range v.Content {
					checkNode(c, t, path, errs)
				}
			}
			continue
		}
		key := strings.TrimPrefix(path+"."+k.Value, ".")
		f, ok := fieldByKey(t, k.Value)
		if !ok {
			*errs = append(*errs, unknownKey(key, k.Line))
			continue
		}
		checkNode(v, f.Type, key, errs)
	}
}

func isWholeNumber(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return t != durationType
	}
	return false
}

// fieldByKey finds the field of struct t whose yaml tag names key.
func fieldByKey(t reflect.Type, key string) (reflect.StructField, bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		if name := yamlName(f); name != "" && name == key {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

func yamlName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	if name == "-" || !f.IsExported() {
		return ""
	}
	return name
}

// knownKeys lists every dotted key of Config, sections included, list
// elements written as "[]": database, database.url, ...,
// ga4.properties[].measurement_id.
var knownKeys = func() []string {
	var keys []string
	var walk func(t reflect.Type, prefix string)
	walk = func(t reflect.Type, prefix string) {
		for i := range t.NumField() {
			f := t.Field(i)
			name := yamlName(f)
			if name == "" {
				continue
			}
			key := strings.TrimPrefix(prefix+"."+name, ".")
			keys = append(keys, key)
			switch ft := f.Type; {
			case ft.Kind() == reflect.Struct && ft != durationType:
				walk(ft, key)
			case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct:
				walk(ft.Elem(), key+"[]")
			}
		}
	}
	walk(reflect.TypeFor[Config](), "")
	return keys
}()

var listIndex = regexp.MustCompile(`\[\d+\]`)

// unknownKey reports key as unknown and suggests the nearest known key.
func unknownKey(key string, line int) error {
	rule := fmt.Sprintf("unknown key (line %d)", line)
	if s := suggest(key); s != "" {
		rule += "; did you mean " + s + "?"
	}
	return &FieldError{Key: key, Rule: rule}
}

// suggest returns the known key nearest to key: within two edits of the
// whole dotted key, else a key in another section whose last part is within
// one edit of key's last part (batch_size at the top: poller.batch_size).
// List indexes are kept as written. "" when nothing is near.
func suggest(key string) string {
	norm := listIndex.ReplaceAllString(key, "[]")
	best, bestD := "", 3
	for _, k := range knownKeys {
		if d := levenshtein(norm, k); d < bestD {
			best, bestD = k, d
		}
	}
	if best == "" {
		leaf := norm[strings.LastIndex(norm, ".")+1:]
		for _, k := range knownKeys {
			if len(leaf) >= 3 && levenshtein(leaf, k[strings.LastIndex(k, ".")+1:]) <= 1 {
				best = k
				break
			}
		}
	}
	if best == "" {
		return ""
	}
	// ga4.properties[].x back to ga4.properties[2].x when key had an index.
	idx := listIndex.FindAllString(key, -1)
	for _, i := range idx {
		if !strings.Contains(best, "[]") {
			break
		}
		best = strings.Replace(best, "[]", i, 1)
	}
	return best
}

// levenshtein is the edit distance between a and b (bytes: keys are ASCII).
func levenshtein(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
