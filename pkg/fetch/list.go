package fetch

import (
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
)

// listResult is the part of an S3 ListObjectsV2 answer the lister reads.
type listResult struct {
	XMLName               xml.Name `xml:"ListBucketResult"`
	IsTruncated           bool     `xml:"IsTruncated"`
	NextContinuationToken string   `xml:"NextContinuationToken"`
	Contents              []struct {
		Key  string `xml:"Key"`
		Size int64  `xml:"Size"`
		ETag string `xml:"ETag"`
	} `xml:"Contents"`
}

// s3Error is an S3 error document.
type s3Error struct {
	Code    string `xml:"Code"`
	Message string `xml:"Message"`
}

// MaxListPages bounds the pages of one listing (1000 keys each).
const MaxListPages = 10000

var md5ETag = regexp.MustCompile(`^[0-9a-fA-F]{32}$`)

// List lists the objects under s.Prefix with the S3 ListObjectsV2 API
// (anonymous, path-style: GET ENDPOINT/BUCKET?list-type=2&prefix=P,
// following continuation tokens). Each object becomes a File at
// s.Dest/<key without the prefix> with its size and, when the ETag is a
// plain MD5 (single-part upload), its MD5. "Directory" keys ending in /
// are skipped; a key that would leave the destination is an error.
func (f *Fetcher) List(ctx context.Context, s Source) ([]File, error) {
	endpoint, err := f.rebase(s.Endpoint)
	if err != nil {
		return nil, err
	}
	var files []File
	token := ""
	for page := 0; ; page++ {
		if page >= MaxListPages {
			return nil, fmt.Errorf("%w: s3://%s/%s: more than %d pages", ErrListing, s.Bucket, s.Prefix, MaxListPages)
		}
		q := url.Values{"list-type": {"2"}, "prefix": {s.Prefix}}
		if token != "" {
			q.Set("continuation-token", token)
		}
		u := strings.TrimRight(endpoint, "/") + "/" + url.PathEscape(s.Bucket) + "?" + q.Encode()
		lr, err := f.listPage(ctx, u)
		if err != nil {
			return nil, fmt.Errorf("%s (listing s3://%s/%s): %w", s.Name, s.Bucket, s.Prefix, err)
		}
		for _, c := range lr.Contents {
			if strings.HasSuffix(c.Key, "/") {
				continue
			}
			rel, ok := strings.CutPrefix(c.Key, s.Prefix)
			if !ok || rel == "" {
				return nil, fmt.Errorf("%w: key %q is not under prefix %q", ErrListing, c.Key, s.Prefix)
			}
			if c.Size < 0 {
				return nil, fmt.Errorf("%w: key %q has size %d", ErrListing, c.Key, c.Size)
			}
			p := rel
			if s.Dest != "" {
				p = s.Dest + "/" + rel
			}
			if _, err := LocalPath(".", p); err != nil {
				return nil, fmt.Errorf("s3 key %q: %w", c.Key, err)
			}
			fl := File{URL: objectURL(endpoint, s.Bucket, c.Key), Path: p, Size: c.Size}
			if tag := strings.Trim(c.ETag, `"`); md5ETag.MatchString(tag) {
				fl.MD5 = strings.ToLower(tag)
			}
			files = append(files, fl)
		}
		if !lr.IsTruncated {
			return files, nil
		}
		if lr.NextContinuationToken == "" || lr.NextContinuationToken == token {
			return nil, fmt.Errorf("%w: s3://%s/%s: truncated page without a new continuation token", ErrListing, s.Bucket, s.Prefix)
		}
		token = lr.NextContinuationToken
	}
}

func (f *Fetcher) listPage(ctx context.Context, u string) (*listResult, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrListing, err)
	}
	resp, err := f.cfg.Client.Do(req)
	if err != nil {
		if e := netErr(u, err); !retryable(e) {
			return nil, e
		}
		return nil, fmt.Errorf("%w: %w", ErrListing, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrListing, u, err)
	}
	if resp.StatusCode != http.StatusOK {
		var e s3Error
		if xml.Unmarshal(body, &e) == nil && e.Code != "" {
			return nil, fmt.Errorf("%w: %s: %s: %s: %s", ErrHTTP, u, resp.Status, e.Code, e.Message)
		}
		return nil, fmt.Errorf("%w: %s: %s", ErrHTTP, u, resp.Status)
	}
	var lr listResult
	if err := xml.Unmarshal(body, &lr); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrListing, u, err)
	}
	return &lr, nil
}
