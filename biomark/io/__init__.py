"""The only code that touches files: readers, writers and packaged resources."""
