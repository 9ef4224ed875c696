"""Lowering of checked specs to frameworks. Framework imports live inside
functions so that importing this package stays cheap."""
