# Gridline's user-visible strings in English.
# Every message id must exist in every catalog, with the same variables (a test checks).
# Ids are the dotted keys used in code with dots written as hyphens: error.not_found -> error-not_found.

## Why a value was rejected.
invalid-required = is required
invalid-too_long = must be at most { $max } characters
invalid-too_short = must be at least { $min } characters
invalid-bad_characters = may contain only { $allowed }
invalid-unknown_value = must be one of: { $allowed }
invalid-out_of_range = must be between { $min } and { $max }
invalid-malformed = has the wrong format; expected { $expected }
invalid-ring_not_closed = the ring is not closed: its last position must equal its first
invalid-ring_too_short = a ring needs at least four positions
invalid-zero_area = the polygon encloses no area
invalid-unsupported_geometry = geometry type { $found } is not accepted here; use Polygon or MultiPolygon
invalid-bad_parent_level = a { $child } cannot be placed under a { $parent }
invalid-duplicate = is already in use
invalid-wrong_type = has the wrong type: { $detail }
invalid-unknown_field = is not a known field
invalid-not_found = refers to something that does not exist

## API and command errors: the `code` of a problem+json document, and its title.
error-malformed_json = The request body is not valid JSON
error-invalid_field = A field is invalid
error-payload_too_large = The request body is larger than { $limit } bytes
error-unsupported_media_type = The request body must be { $expected }
error-not_found = Not found
error-route_not_found = There is no such address in the API
error-method_not_allowed = This method is not allowed here
error-sign_in_required = Sign in first
error-forbidden = You may not do this
error-version_conflict = Someone else changed this record: it is now at version { $current }. Reload and apply your change again
error-version_required = Say which version you are changing: send "version" in the body or an If-Match header
error-duplicate = { $field } is already in use
error-has_dependents = This record is still used by { $count } other records ({ $what }); remove or move them first
error-rate_limited = Too many attempts; try again in { $seconds } seconds
error-csrf_failed = The form has expired or did not come from Gridline; reload the page and try again
error-invalid_credentials = Wrong username or password
error-invalid_token = The token is unknown, expired or revoked
error-account_disabled = This account is disabled
error-internal = Something went wrong on our side; the error has been logged
error-unavailable = The database cannot be reached
error-bad_query = A query parameter is invalid
error-bad_path = The address contains an invalid identifier

## Punctuation that differs between the languages.
punct-colon = :{" "}

## Short titles of problems whose full message needs parameters.
title-payload_too_large = The request body is too large
title-unsupported_media_type = Unsupported media type
title-version_conflict = Someone else changed this record
title-duplicate = A value is already in use
title-has_dependents = The record is still in use
title-rate_limited = Too many attempts

## Why access was refused.
deny-sign_in_required = sign-in required
deny-not_permitted = your role may not do this
deny-out_of_scope = this lies outside your area or organization
deny-not_cleared = this data is classified above your clearance

## Data classification.
classification-public = Public
classification-internal = Internal
classification-restricted = Restricted
classification-confidential = Confidential

## Jurisdiction levels.
level-city = city
level-district = district
level-sub_district = sub-district
level-community = community
level-grid = grid

## Organization kinds.
org_kind-government_office = Government office
org_kind-department = Department
org_kind-residents_committee = Residents' committee
org_kind-villagers_committee = Villagers' committee
org_kind-utility = Public utility
org_kind-enterprise = Enterprise
org_kind-property_company = Property company
org_kind-owners_committee = Owners' committee
org_kind-ngo = Social organization
org_kind-volunteer_team = Volunteer team
org_kind-mutual_aid_group = Mutual-aid group
org_kind-health_facility = Health facility
org_kind-school = School
org_kind-rescue_team = Rescue team

## Sectors.
sector-emergency_management = Emergency management
sector-health = Health
sector-public_security = Public security
sector-fire_rescue = Fire and rescue
sector-water_affairs = Water affairs
sector-meteorology = Meteorology
sector-transport = Transport
sector-power = Power supply
sector-gas = Gas supply
sector-water_supply = Water supply
sector-telecom = Telecommunications
sector-housing = Housing and construction
sector-civil_affairs = Civil affairs
sector-market_regulation = Market regulation
sector-environment = Ecology and environment
sector-greening = Greening and city appearance
sector-education = Education
sector-other = Other

## Member roles.
member_role-duty_officer = Duty officer
member_role-cadre = Community cadre
member_role-grid_member = Grid member
member_role-information_reporter = Information reporter
member_role-police = Community police
member_role-owners_committee_member = Owners' committee member
member_role-property_staff = Property staff
member_role-firefighter = Firefighter
member_role-micro_fire_station = Micro fire station member
member_role-medical = Medical staff
member_role-volunteer = Volunteer
member_role-building_leader = Building-group leader
member_role-first_responder = First responder
member_role-liaison = Department liaison

## Member status.
member_status-active = Available
member_status-unavailable = Unavailable
member_status-deployed = Deployed
member_status-inactive = Inactive

## Credential state.
credential_state-valid = Valid
credential_state-expiring_soon = Expiring soon
credential_state-expired = Expired

## Team kinds and tiers.
team_kind-standing = Standing force
team_kind-professional = Professional team
team_kind-grassroots = Grassroots team
team_kind-volunteer = Volunteer team
team_kind-unit = Unit team
team_kind-social = Social-force team
team_tier-community = Community force
team_tier-professional = Professional force

## Account roles.
role-admin = Administrator
role-duty_officer = Duty officer
role-community_cadre = Community cadre
role-grid_member = Grid member
role-department_liaison = Department liaison
role-volunteer = Volunteer
role-enterprise = Enterprise
role-auditor = Auditor

## Kinds of resource.
resource-jurisdiction = jurisdiction
resource-organization = organization
resource-member = member
resource-team = team
resource-account = account
resource-api_token = API token
resource-audit_log = audit log
resource-event = event
resource-layer = map layer

## Command line.
cli-first_admin = First administrator account created. Username: { $username }  Password: { $password }  (shown once; change it after signing in)
cli-listening = Gridline is listening on { $url }
cli-database = Database: { $database }
cli-migrated = Database schema is up to date (version { $version })
cli-user_created = Account { $username } created
cli-password_changed = Password of { $username } changed
cli-granted = Granted { $role } to { $username }
cli-audit_ok = Audit chain intact: { $count } records verified
cli-audit_broken = Audit chain broken at record { $seq }: { $problem }
cli-import_summary = Imported { $imported } boundaries ({ $created } new, { $updated } updated, { $unchanged } unchanged); { $rejected } rejected
cli-import_rejected = Feature { $index }: { $message }
cli-shutting_down = Shutting down
cli-layer_stored = Layer { $layer }: { $inserted } new, { $updated } updated, { $unchanged } unchanged, { $rejected } rejected
cli-layer_summary = Read { $features } features: { $inserted } new, { $updated } updated, { $unchanged } unchanged; { $rejected } rejected
audit_break-sequence_gap = a record is missing or was inserted (expected record { $expected })
audit_break-prev_hash_mismatch = the previous record was replaced or removed
audit_break-hash_mismatch = this record was edited after it was written

## Jurisdiction modes.
mode-peacetime = Peacetime
mode-heightened = Heightened readiness
mode-emergency = Emergency response

## Map layers built into Gridline.
layer-jurisdictions = Boundaries
layer-members = Members on duty

## The web console.
ui-account_created = Account { $username } created. Its password, shown once:
ui-actions = Actions
ui-active = Active
ui-add_sub_jurisdiction = Add a sub-jurisdiction
ui-address = Address
ui-any = Any
ui-api_document = API document
ui-api_tokens = API tokens
ui-app_name = Gridline
ui-apply_filters = Apply
ui-back_online = Back online.
ui-back_to_console = Back to the console
ui-breadcrumbs = Breadcrumbs
ui-change_password = Change password
ui-code = Code
ui-create = Create
ui-create_token = Create token
ui-created_at = Created
ui-credential_kind = Credential
ui-credential_number = Number
ui-credentials = Credentials
ui-current_password = Current password
ui-details = Details
ui-disabled = Disabled
ui-display_name = Display name
ui-draft_restored = Your unsent entries were restored.
ui-duty_base = Duty base (lat, lon)
ui-edit = Edit
ui-email = E-mail
ui-expires_on = Expires on
ui-export_csv = Export CSV
ui-features_in_cell = { $count } here
ui-footer_attribution = Gridline — open-source emergency operations for the grassroots. Boundaries: GaryBikini/ChinaAdminDivisonSHP (MIT). Map data © OpenStreetMap contributors (ODbL).
ui-home = Home
ui-jurisdiction = Jurisdiction
ui-jurisdiction_tree = Jurisdiction tree
ui-kind = Kind
ui-language = Language
ui-language_en = English
ui-language_zh = 中文
ui-leader = Leader
ui-level = Level
ui-lists = Lists
ui-live_events = Live events
ui-loading = Loading…
ui-main_navigation = Main navigation
ui-map = Map
ui-map_attribution = Boundaries: ChinaAdminDivisonSHP (MIT) · © OpenStreetMap contributors
ui-map_layers = Map layers
ui-map_libraries_missing = The map libraries were not available when Gridline was built: install Node.js and npm, then rebuild.
ui-map_note = Drawn from Gridline's own data; no outside map service is used.
ui-members = Members
ui-members_here = Members here
ui-mode = Mode
ui-mode_banner = { $name }: { $mode }
ui-name = Name
ui-name_en = Name (English)
ui-name_zh = Name (Chinese)
ui-nav_account = My account
ui-nav_accounts = Accounts
ui-nav_console = Console
ui-nav_jurisdictions = Jurisdictions
ui-nav_members = Members
ui-nav_organizations = Organizations
ui-nav_teams = Teams
ui-new_account = New account
ui-new_member = New member
ui-new_organization = New organization
ui-new_password = New password (at least 10 characters)
ui-new_team = New team
ui-next_page = Next page
ui-no_credentials = No credentials recorded.
ui-no_events_yet = Nothing has happened since this page opened.
ui-no_jurisdictions_yet = No jurisdictions yet. Import boundaries with: gridline import boundaries FILE --level district
ui-nothing_found = Nothing found.
ui-offline = You are offline. What you type is kept on this device until the network is back.
ui-open_details = Open details
ui-organization = Organization
ui-organizations_here = Organizations here
ui-pagination = Pages
ui-password = Password
ui-personal_masked = Personal data is masked. To see it, state why; your access is recorded.
ui-personal_revealed = Personal data shown for the purpose you stated; this access is recorded in the audit log.
ui-phone = Phone
ui-please_fix = Please correct the following:
ui-position_help = Latitude and longitude separated by a comma, for example 31.2304, 121.4737.
ui-previous_page = Previous page
ui-reconnecting = Reconnecting…
ui-reveal = Show personal data
ui-reveal_purpose = Purpose
ui-revoke = Revoke
ui-revoked = Revoked
ui-role = Role
ui-roles = Roles
ui-save = Save
ui-search = Search
ui-sector = Sector
ui-showing = { $first }–{ $last } of { $total }
ui-sign_in = Sign in
ui-sign_out = Sign out
ui-skills = Skills
ui-skills_help = Skill codes separated by commas, for example first_aid, boat_handling.
ui-skip_to_content = Skip to content
ui-state = State
ui-status = Status
ui-sub_jurisdictions = Sub-jurisdictions
ui-sub_jurisdictions_count = { $count } below
ui-switch_language = Switch language
ui-team_members = Members ({ $count })
ui-teams_here = Teams here
ui-tier = Tier
ui-timezone = Time zone
ui-token_name = What the token is for
ui-token_prefix = Starts with
ui-token_shown_once = Copy the token now; it is not shown again:
ui-updated_at = Last changed
ui-username = Username

## Kinds of events, in the live ticker.
event-jurisdiction-created = Jurisdiction created
event-jurisdiction-updated = Jurisdiction changed
event-jurisdiction-deleted = Jurisdiction deleted
event-organization-created = Organization added
event-organization-updated = Organization changed
event-organization-deleted = Organization deleted
event-member-created = Member registered
event-member-updated = Member changed
event-member-deleted = Member removed
event-team-created = Team created
event-team-updated = Team changed
event-team-deleted = Team deleted
event-account-created = Account created
event-account-updated = Account changed
event-account-granted = Role granted
event-account-grant_revoked = Role withdrawn
event-layer-imported = Map layer imported
