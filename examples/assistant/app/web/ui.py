"""The web front end. No suite runs it: a change here costs no model call."""

THEME = {"accent": "#3366ff", "font": "system-ui"}
