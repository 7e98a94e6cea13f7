"""/api/v1/<tenant>/companies: companies (business data) with their verification flag."""
from __future__ import annotations

from flask.views import MethodView

from saas.api import api_blueprint
from saas import access
from saas.modules.companies import operations, queries
from saas.modules.retention import operations as retention
from saas.modules.companies.schemas import CompanyCreate, CompanyListArgs, CompanyOut, CompanyUpdate

blp = api_blueprint(
    "companies_api", __name__, "/companies",
    description="Companies the tenant works with or calls. Never deleted by retention; flagged for verification "
                "after the sector's period. Admins and supervisors write, agents verify, client users read "
                "those of their own organisation's records. What a role may not do answers 404.",
)
@blp.route("")
class Companies(MethodView):
    @access.requires("list", "company")
    @blp.arguments(CompanyListArgs, location="query")
    @blp.response(200, CompanyOut(many=True))
    @blp.paginate(page_size=20, max_page_size=100)
    def get(self, args, pagination_parameters):
        """List companies by name (paging in the X-Pagination header)."""
        page = queries.list_companies(pagination_parameters.page, pagination_parameters.page_size,
                                      needs_verification=args.get("needs_verification", False), search=args.get("q"))
        pagination_parameters.item_count = page.total
        return page.items

    @access.requires("create", "company")
    @blp.arguments(CompanyCreate)
    @blp.response(201, CompanyOut)
    def post(self, data):
        """Add a company."""
        try:
            return operations.create_company(data)
        except operations.CompanyRejected as exc:
            exc.abort()


@blp.route("/<company_id>")
class CompanyItem(MethodView):
    @access.requires("view", "company")
    @blp.response(200, CompanyOut)
    def get(self, company_id):
        """Read one company."""
        return queries.find_company(company_id)

    @access.requires("edit", "company")
    @blp.arguments(CompanyUpdate)
    @blp.response(200, CompanyOut)
    def patch(self, data, company_id):
        """Change some fields of a company."""
        company = queries.find_company(company_id, "edit")
        try:
            return operations.update_company(company, data)
        except operations.CompanyRejected as exc:
            exc.abort()

    @access.requires("erase", "company")
    @blp.response(204)
    def delete(self, company_id):
        """Remove a company (its people stay, unlinked). Admins only."""
        company = queries.find_company(company_id, "erase")
        operations.delete_company(company)


@blp.route("/<company_id>/verify")
class CompanyVerify(MethodView):
    @access.requires("verify", "company")
    @blp.response(200, CompanyOut)
    def post(self, company_id):
        """Record that the company's data was checked today (clears the verification flag)."""
        company = queries.find_company(company_id, "verify")
        retention.verify_record(company)
        return company
