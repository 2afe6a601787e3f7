"""One module per `qhil` subcommand: thin glue between options and the library."""
