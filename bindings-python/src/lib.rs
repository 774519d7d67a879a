//! Placeholder: the python binding is built in its own issue.
