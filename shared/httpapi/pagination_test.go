package httpapi_test

import (
	"net/http"
	"slices"
	"testing"
)

func TestPagination(t *testing.T) {
	srv := newServer(t, setup{})
	cases := []struct {
		query                              string
		items, total, page, perPage, pages int
	}{
		{"", 0, 0, 1, 25, 0},
		{"?total=42", 25, 42, 1, 25, 2},
		{"?total=42&page=2", 17, 42, 2, 25, 2},
		{"?total=42&page=3", 0, 42, 3, 25, 2},
		{"?total=42&per_page=100", 42, 42, 1, 100, 1},
		{"?total=250&per_page=100&page=3", 50, 250, 3, 100, 3},
		{"?total=5&per_page=1", 1, 5, 1, 1, 5},
	}
	for _, c := range cases {
		t.Run("list"+c.query, func(t *testing.T) {
			r := get(t, srv, "/api/v1/things"+c.query)
			if r.Code != http.StatusOK {
				t.Fatalf("status = %d: %s", r.Code, r.Body.String())
			}
			m := r.json()
			items, ok := m["items"].([]any)
			if !ok {
				t.Fatalf("items is not a list (an empty list must be [], not null): %s", r.Body.String())
			}
			got := []int{len(items), int(m["total"].(float64)), int(m["page"].(float64)), int(m["per_page"].(float64)), int(m["pages"].(float64))}
			want := []int{c.items, c.total, c.page, c.perPage, c.pages}
			if !slices.Equal(got, want) {
				t.Errorf("items, total, page, per_page, pages = %v, want %v", got, want)
			}
			if _, ok := m["next_cursor"]; ok {
				t.Errorf("next_cursor present without a cursor: %s", r.Body.String())
			}
		})
	}
	bad := []struct{ query, location string }{
		{"?page=0", "query.page"},
		{"?page=-1", "query.page"},
		{"?page=x", "query.page"},
		{"?per_page=0", "query.per_page"},
		{"?per_page=101", "query.per_page"},
		{"?per_page=abc", "query.per_page"},
		{"?per_page=2.5", "query.per_page"},
	}
	for _, c := range bad {
		t.Run("invalid"+c.query, func(t *testing.T) {
			r := get(t, srv, "/api/v1/things"+c.query)
			_, fields := r.envelope(http.StatusUnprocessableEntity)
			if !slices.Contains(locations(fields), c.location) {
				t.Errorf("errors = %v, want one at %s", fields, c.location)
			}
		})
	}
}
