"""The result store and cache: what a result depended on (keys), and where it is kept."""
