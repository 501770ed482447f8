"""Documents: rendering the bureau's forms, LibreOffice conversion, the check table's label grid."""
