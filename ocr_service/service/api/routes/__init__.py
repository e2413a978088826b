"""The API's routes, one module per resource; ``ROUTERS`` is what the app factory mounts under /api/v1."""

from ocr_service.service.api.routes import (batches, exports, files, jobs, me, reports, review, sheets, supervision,
                                            uploads)

ROUTERS = [me.router, batches.router, uploads.router, files.router, sheets.router, review.router, jobs.router,
           exports.router, supervision.router, reports.router]
