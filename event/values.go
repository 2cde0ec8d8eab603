package event

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Timestamps outside this range are refused: they are almost always
// milliseconds or garbage rather than seconds.
var (
	minTimestamp = time.Unix(0, 0)
	maxTimestamp = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)
)

// ParseTimestamp reads an event timestamp: an RFC 3339 string, or unix
// seconds as a number or a numeric string (fractions keep microseconds).
func ParseTimestamp(v any) (time.Time, error) {
	var t time.Time
	switch v := v.(type) {
	case time.Time:
		t = v
	case string:
		if p, err := unixSeconds(v); err == nil {
			t = p
			break
		}
		p, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return time.Time{}, fmt.Errorf("not RFC 3339 or unix seconds: %q", v)
		}
		t = p
	case json.Number:
		p, err := unixSeconds(v.String())
		if err != nil {
			return time.Time{}, err
		}
		t = p
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return time.Time{}, errors.New("not unix seconds")
		}
		sec, frac := math.Modf(v)
		t = time.Unix(int64(sec), int64(math.Round(frac*1e6))*1e3)
	case int:
		t = time.Unix(int64(v), 0)
	case int64:
		t = time.Unix(v, 0)
	default:
		return time.Time{}, fmt.Errorf("must be an RFC 3339 string or unix seconds, not %s",
			TypeName(v))
	}
	if t.Before(minTimestamp) || t.After(maxTimestamp) {
		return time.Time{}, fmt.Errorf("%s is out of range (want seconds since 1970)",
			t.UTC().Format(time.RFC3339))
	}
	return t, nil
}

// unixSeconds parses decimal seconds exactly, without float rounding.
func unixSeconds(s string) (time.Time, error) {
	if strings.HasPrefix(s, "-") {
		return time.Time{}, fmt.Errorf("%s is out of range (want seconds since 1970)", s)
	}
	if strings.ContainsAny(s, "eE") {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return time.Time{}, fmt.Errorf("not unix seconds: %s", s)
		}
		if f > float64(maxTimestamp.Unix()) {
			return time.Time{}, fmt.Errorf("%s is out of range (want seconds since 1970)", s)
		}
		sec, frac := math.Modf(f)
		return time.Unix(int64(sec), int64(math.Round(frac*1e6))*1e3), nil
	}
	whole, frac, _ := strings.Cut(s, ".")
	sec, err := strconv.ParseUint(whole, 10, 63)
	if err != nil {
		return time.Time{}, fmt.Errorf("not unix seconds: %s", s)
	}
	var nsec int64
	if frac != "" {
		if len(frac) > 9 {
			frac = frac[:9]
		}
		n, err := strconv.ParseUint(frac, 10, 32)
		if err != nil {
			return time.Time{}, fmt.Errorf("not unix seconds: %s", s)
		}
		nsec = int64(n) * int64(math.Pow10(9-len(frac)))
	}
	return time.Unix(int64(sec), nsec), nil
}

// FormatTimestamp writes a timestamp as events carry it: RFC 3339 in UTC.
func FormatTimestamp(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// isNumber reports whether v is a JSON number in any of the forms New takes.
func isNumber(v any) bool {
	_, ok, _ := Float(v)
	return ok
}

// TypeName names the JSON type of a decoded value for error messages: "a
// string", "a number", "null", ...
func TypeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	}
	if isNumber(v) {
		return "a number"
	}
	return fmt.Sprintf("%T", v)
}

// toFloats replaces every number in v (an object or array, recursively) with
// its float64 value, the form rules compare. path names v in errors.
func toFloats(v any, path string) error {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			f, ok, err := float(x, join(path, k))
			if err != nil {
				return err
			}
			if ok {
				v[k] = f
				continue
			}
			if err := toFloats(x, join(path, k)); err != nil {
				return err
			}
		}
	case []any:
		for i, x := range v {
			p := path + "[" + strconv.Itoa(i) + "]"
			f, ok, err := float(x, p)
			if err != nil {
				return err
			}
			if ok {
				v[i] = f
				continue
			}
			if err := toFloats(x, p); err != nil {
				return err
			}
		}
	}
	return nil
}

// float converts a number to float64; ok is false when v is no number.
func float(v any, path string) (f float64, ok bool, err error) {
	f, ok, err = Float(v)
	if err != nil {
		return 0, ok, errorf(path, "%v", err)
	}
	return f, ok, nil
}

// Float converts a decoded JSON number (json.Number, float64 or an integer)
// to the float64 rules compare; ok is false when v is not a number, err set
// when it is one without a finite float64 value.
func Float(v any) (f float64, ok bool, err error) {
	switch v := v.(type) {
	case json.Number:
		f, err := strconv.ParseFloat(v.String(), 64)
		if err != nil {
			return 0, true, fmt.Errorf("number %s is out of range", v)
		}
		return f, true, nil
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return 0, true, fmt.Errorf("number %v is not finite", v)
		}
		return v, true, nil
	case int:
		return float64(v), true, nil
	case int64:
		return float64(v), true, nil
	}
	return 0, false, nil
}

// join appends a key to a dotted path.
func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}
