"""Components of the dg demo project, one folder each."""
