"""``/docs``: Swagger UI served from this process, so the docs work with no internet access.

The assets come from the ``fastapi-offline`` package (Swagger UI 5, which renders OpenAPI 3.1)
where it is installed, as it is for ``servekit serve``; the Lambda layer leaves it out to stay
small, so a deployed API's ``/docs`` loads Swagger UI from its CDN instead.
"""

from __future__ import annotations

from importlib.util import find_spec
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

__all__ = ["ASSETS_PATH", "local_assets", "mount_docs"]

ASSETS_PATH = "/docs/assets"


def local_assets() -> Path | None:
    """The folder of the bundled Swagger UI files, or ``None`` where the package is absent."""
    spec = find_spec("fastapi_offline")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "static"
    return folder if (folder / "swagger-ui-bundle.js").is_file() else None


def mount_docs(app: FastAPI) -> None:
    folder = local_assets()
    if folder is not None:
        app.mount(ASSETS_PATH, StaticFiles(directory=folder), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        title = f"{app.title} docs"
        if folder is None:  # FastAPI's default: Swagger UI from its CDN
            return get_swagger_ui_html(openapi_url="/openapi.json", title=title)
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title=title,
            swagger_js_url=f"{ASSETS_PATH}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS_PATH}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS_PATH}/favicon.png",
            # Swagger UI would otherwise show a badge fetched from validator.swagger.io
            swagger_ui_parameters={"validatorUrl": None},
        )
