package domain

// PageRequest asks for one page of a list.
type PageRequest struct {
	Page    int
	PerPage int
	// Cursor, when set, continues after the previous page in one read.
	Cursor string
}

// Page is one page of a list and the size of the whole list.
type Page[T any] struct {
	Items      []T
	Total      int
	Request    PageRequest
	NextCursor string
}

// Pages is the number of pages the whole list fills (0 for an empty list).
func (p Page[T]) Pages() int {
	if p.Request.PerPage <= 0 {
		return 0
	}
	return (p.Total + p.Request.PerPage - 1) / p.Request.PerPage
}
