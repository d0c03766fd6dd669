package httpapi

import (
	"rampart/shared/domain"
)

// PageQuery is embedded in the input of every list operation. huma validates
// the bounds, so page=0, per_page=101 or per_page=abc answer 422.
type PageQuery struct {
	Page    int    `query:"page" default:"1" minimum:"1" maximum:"100000" doc:"Page number, from 1"`
	PerPage int    `query:"per_page" default:"25" minimum:"1" maximum:"100" doc:"Items per page, at most 100"`
	Cursor  string `query:"cursor" maxLength:"2048" doc:"Opaque cursor from next_cursor of the previous page; when given, page is ignored"`
}

// Request converts the query to the domain's page request.
func (q PageQuery) Request() domain.PageRequest {
	return domain.PageRequest{Page: q.Page, PerPage: q.PerPage, Cursor: q.Cursor}
}

// Page is the envelope of every list.
type Page[T any] struct {
	Items      []T    `json:"items"`
	Total      int    `json:"total"`
	Page       int    `json:"page"`
	PerPage    int    `json:"per_page"`
	Pages      int    `json:"pages"`
	NextCursor string `json:"next_cursor,omitempty" doc:"Pass as cursor to read the next page in one request"`
}

// PageOutput is the huma output of a list operation.
type PageOutput[T any] struct {
	Body Page[T]
}

// NewPage converts a domain page, mapping each item with conv.
func NewPage[D, T any](p domain.Page[D], conv func(D) T) *PageOutput[T] {
	items := make([]T, len(p.Items))
	for i, it := range p.Items {
		items[i] = conv(it)
	}
	return &PageOutput[T]{Body: Page[T]{
		Items: items, Total: p.Total, Page: p.Request.Page, PerPage: p.Request.PerPage,
		Pages: p.Pages(), NextCursor: p.NextCursor,
	}}
}
