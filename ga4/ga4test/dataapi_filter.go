package ga4test

import (
	"regexp"
	"slices"
	"strings"
)

// filterExpr is the Data API's FilterExpression over dimensions: a filter,
// or an and / or group, or a negation.
type filterExpr struct {
	AndGroup      *filterList  `json:"andGroup"`
	OrGroup       *filterList  `json:"orGroup"`
	NotExpression *filterExpr  `json:"notExpression"`
	Filter        *fieldFilter `json:"filter"`
}

type filterList struct {
	Expressions []filterExpr `json:"expressions"`
}

type fieldFilter struct {
	FieldName    string `json:"fieldName"`
	InListFilter *struct {
		Values        []string `json:"values"`
		CaseSensitive bool     `json:"caseSensitive"`
	} `json:"inListFilter"`
	StringFilter *struct {
		MatchType     string `json:"matchType"`
		Value         string `json:"value"`
		CaseSensitive bool   `json:"caseSensitive"`
	} `json:"stringFilter"`
}

// check rejects filters on unknown fields and filters the emulator does
// not evaluate.
func (f *filterExpr) check() *apiError {
	if f == nil {
		return nil
	}
	for _, g := range []*filterList{f.AndGroup, f.OrGroup} {
		if g == nil {
			continue
		}
		for i := range g.Expressions {
			if err := g.Expressions[i].check(); err != nil {
				return err
			}
		}
	}
	if err := f.NotExpression.check(); err != nil {
		return err
	}
	if ff := f.Filter; ff != nil {
		if _, ok := dataDimensions[ff.FieldName]; !ok {
			return invalidArgument("dimensionFilter: Field %s is not a valid dimension.", ff.FieldName)
		}
		if ff.InListFilter == nil && ff.StringFilter == nil {
			return invalidArgument("dimensionFilter on %s: the emulator evaluates inListFilter and stringFilter only", ff.FieldName)
		}
		if sf := ff.StringFilter; sf != nil && strings.HasSuffix(sf.MatchType, "REGEXP") {
			if _, err := regexp.Compile(sf.Value); err != nil {
				return invalidArgument("dimensionFilter on %s: %v", ff.FieldName, err)
			}
		}
	}
	return nil
}

// match evaluates the expression against a purchase's dimension values; a
// nil expression matches everything.
func (f *filterExpr) match(get func(field string) string) bool {
	switch {
	case f == nil:
		return true
	case f.AndGroup != nil:
		return !slices.ContainsFunc(f.AndGroup.Expressions, func(e filterExpr) bool { return !e.match(get) })
	case f.OrGroup != nil:
		return slices.ContainsFunc(f.OrGroup.Expressions, func(e filterExpr) bool { return e.match(get) })
	case f.NotExpression != nil:
		return !f.NotExpression.match(get)
	case f.Filter != nil:
		return f.Filter.match(get(f.Filter.FieldName))
	}
	return true
}

func (ff *fieldFilter) match(v string) bool {
	if l := ff.InListFilter; l != nil {
		return slices.ContainsFunc(l.Values, func(x string) bool { return x == v || (!l.CaseSensitive && strings.EqualFold(x, v)) })
	}
	sf := ff.StringFilter
	want := sf.Value
	if !sf.CaseSensitive && !strings.HasSuffix(sf.MatchType, "REGEXP") {
		v, want = strings.ToLower(v), strings.ToLower(want)
	}
	switch sf.MatchType {
	case "BEGINS_WITH":
		return strings.HasPrefix(v, want)
	case "ENDS_WITH":
		return strings.HasSuffix(v, want)
	case "CONTAINS":
		return strings.Contains(v, want)
	case "FULL_REGEXP":
		return regexp.MustCompile("^(?:" + want + ")$").MatchString(v)
	case "PARTIAL_REGEXP":
		return regexp.MustCompile(want).MatchString(v)
	}
	return v == want
}
