"""The edge: a local nginx that plays CloudFront's part in front of the site."""
