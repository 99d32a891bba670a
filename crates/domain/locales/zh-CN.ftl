# Gridline's user-visible strings in Simplified Chinese (简体中文).
# Every message id must exist in every catalog, with the same variables (a test checks).
# Ids are the dotted keys used in code with dots written as hyphens: error.not_found -> error-not_found.

## Why a value was rejected.
invalid-required = 为必填项
invalid-too_long = 长度不能超过 { $max } 个字符
invalid-too_short = 长度不能少于 { $min } 个字符
invalid-bad_characters = 只能包含 { $allowed }
invalid-unknown_value = 必须是以下值之一：{ $allowed }
invalid-out_of_range = 必须介于 { $min } 与 { $max } 之间
invalid-malformed = 格式不正确，应为 { $expected }
invalid-ring_not_closed = 环未闭合：最后一个坐标必须与第一个相同
invalid-ring_too_short = 一个环至少需要四个坐标
invalid-zero_area = 多边形面积为零
invalid-unsupported_geometry = 此处不接受几何类型 { $found }，请使用 Polygon 或 MultiPolygon
invalid-bad_parent_level = { $child }不能隶属于{ $parent }
invalid-duplicate = 已被占用
invalid-wrong_type = 类型错误：{ $detail }
invalid-unknown_field = 不是可识别的字段
invalid-not_found = 引用的对象不存在

## API and command errors: the `code` of a problem+json document, and its title.
error-malformed_json = 请求体不是有效的 JSON
error-invalid_field = 字段无效
error-payload_too_large = 请求体超过 { $limit } 字节上限
error-unsupported_media_type = 请求体必须为 { $expected }
error-not_found = 未找到
error-route_not_found = API 中没有此地址
error-method_not_allowed = 此地址不允许该请求方法
error-sign_in_required = 请先登录
error-forbidden = 您无权执行此操作
error-version_conflict = 该记录已被他人修改，当前版本为 { $current }。请刷新后重新修改
error-version_required = 请指明要修改的版本：在请求体中提供 "version" 或使用 If-Match 请求头
error-duplicate = { $field } 已被占用
error-has_dependents = 该记录仍被 { $count } 条其他记录（{ $what }）使用，请先删除或迁移它们
error-rate_limited = 尝试次数过多，请在 { $seconds } 秒后重试
error-csrf_failed = 表单已过期或并非来自 Gridline，请刷新页面后重试
error-invalid_credentials = 用户名或密码错误
error-invalid_token = 令牌无效、已过期或已被吊销
error-account_disabled = 此账号已被停用
error-internal = 服务器内部错误，已记录日志
error-unavailable = 无法连接数据库
error-bad_query = 查询参数无效
error-bad_path = 地址中的标识符无效

## Punctuation that differs between the languages.
punct-colon = ：

## Short titles of problems whose full message needs parameters.
title-payload_too_large = 请求体过大
title-unsupported_media_type = 不支持的媒体类型
title-version_conflict = 该记录已被他人修改
title-duplicate = 值已被占用
title-has_dependents = 该记录仍在使用中
title-rate_limited = 尝试次数过多

## Why access was refused.
deny-sign_in_required = 需要登录
deny-not_permitted = 您的角色无此权限
deny-out_of_scope = 超出您的辖区或所属单位范围
deny-not_cleared = 该数据的密级高于您的权限

## Data classification.
classification-public = 公开
classification-internal = 内部
classification-restricted = 受限
classification-confidential = 机密

## Jurisdiction levels.
level-city = 市
level-district = 区
level-sub_district = 街道
level-community = 社区
level-grid = 网格

## Organization kinds.
org_kind-government_office = 政府机关
org_kind-department = 职能部门
org_kind-residents_committee = 居民委员会
org_kind-villagers_committee = 村民委员会
org_kind-utility = 公用事业单位
org_kind-enterprise = 企业
org_kind-property_company = 物业服务企业
org_kind-owners_committee = 业主委员会
org_kind-ngo = 社会组织
org_kind-volunteer_team = 志愿服务队
org_kind-mutual_aid_group = 互助小组
org_kind-health_facility = 医疗卫生机构
org_kind-school = 学校
org_kind-rescue_team = 救援队伍

## Sectors.
sector-emergency_management = 应急管理
sector-health = 卫生健康
sector-public_security = 公安
sector-fire_rescue = 消防救援
sector-water_affairs = 水务
sector-meteorology = 气象
sector-transport = 交通
sector-power = 电力
sector-gas = 燃气
sector-water_supply = 供水
sector-telecom = 通信
sector-housing = 住房城乡建设
sector-civil_affairs = 民政
sector-market_regulation = 市场监管
sector-environment = 生态环境
sector-greening = 绿化市容
sector-education = 教育
sector-other = 其他

## Member roles.
member_role-duty_officer = 值班员
member_role-cadre = 社区干部
member_role-grid_member = 网格员
member_role-information_reporter = 信息报告员
member_role-police = 社区民警
member_role-owners_committee_member = 业委会委员
member_role-property_staff = 物业人员
member_role-firefighter = 消防救援人员
member_role-micro_fire_station = 微型消防站队员
member_role-medical = 医护人员
member_role-volunteer = 志愿者
member_role-building_leader = 楼组长
member_role-first_responder = 应急第一响应人
member_role-liaison = 部门联络员

## Member status.
member_status-active = 可调用
member_status-unavailable = 暂不可用
member_status-deployed = 执行任务中
member_status-inactive = 已停用

## Credential state.
credential_state-valid = 有效
credential_state-expiring_soon = 即将过期
credential_state-expired = 已过期

## Team kinds and tiers.
team_kind-standing = 综合性常备力量
team_kind-professional = 专业应急救援队伍
team_kind-grassroots = 基层应急救援队伍
team_kind-volunteer = 志愿者队伍
team_kind-unit = 单位应急救援队伍
team_kind-social = 社会应急力量
team_tier-community = 社区常备力量
team_tier-professional = 专业力量

## Account roles.
role-admin = 系统管理员
role-duty_officer = 值班员
role-community_cadre = 社区干部
role-grid_member = 网格员
role-department_liaison = 部门联络员
role-volunteer = 志愿者
role-enterprise = 企业
role-auditor = 审计员

## Kinds of resource.
resource-jurisdiction = 辖区
resource-organization = 组织
resource-member = 成员
resource-team = 队伍
resource-account = 账号
resource-api_token = API 令牌
resource-audit_log = 审计日志
resource-event = 事件
resource-layer = 地图图层

## Command line.
cli-first_admin = 已创建首个管理员账号。用户名：{ $username }  密码：{ $password }（仅显示一次，请登录后修改）
cli-listening = Gridline 正在监听 { $url }
cli-database = 数据库：{ $database }
cli-migrated = 数据库结构已是最新（版本 { $version }）
cli-user_created = 已创建账号 { $username }
cli-password_changed = 已修改 { $username } 的密码
cli-granted = 已授予 { $username } { $role } 角色
cli-audit_ok = 审计链完整：已校验 { $count } 条记录
cli-audit_broken = 审计链在第 { $seq } 条记录处断裂：{ $problem }
cli-import_summary = 已导入 { $imported } 个边界（新增 { $created }，更新 { $updated }，未变 { $unchanged }）；拒绝 { $rejected } 个
cli-import_rejected = 第 { $index } 个要素：{ $message }
cli-shutting_down = 正在关闭
cli-layer_stored = 图层 { $layer }：新增 { $inserted }，更新 { $updated }，未变 { $unchanged }，拒绝 { $rejected }
cli-layer_summary = 读取 { $features } 个要素：新增 { $inserted }，更新 { $updated }，未变 { $unchanged }；拒绝 { $rejected } 个
audit_break-sequence_gap = 有记录缺失或被插入（应为第 { $expected } 条）
audit_break-prev_hash_mismatch = 前一条记录被替换或删除
audit_break-hash_mismatch = 该记录在写入后被修改

## Jurisdiction modes.
mode-peacetime = 平时
mode-heightened = 预警期
mode-emergency = 应急响应

## Map layers built into Gridline.
layer-jurisdictions = 辖区边界
layer-members = 在岗成员

## The web console.
ui-account_created = 已创建账号 { $username }。初始密码（仅显示一次）：
ui-actions = 操作
ui-active = 有效
ui-add_sub_jurisdiction = 新增下级辖区
ui-address = 地址
ui-any = 全部
ui-api_document = API 文档
ui-api_tokens = API 令牌
ui-app_name = 网格应急
ui-apply_filters = 筛选
ui-back_online = 网络已恢复。
ui-back_to_console = 返回指挥台
ui-breadcrumbs = 导航路径
ui-change_password = 修改密码
ui-code = 编码
ui-create = 创建
ui-create_token = 创建令牌
ui-created_at = 创建时间
ui-credential_kind = 证书
ui-credential_number = 编号
ui-credentials = 资质证书
ui-current_password = 当前密码
ui-details = 详情
ui-disabled = 已停用
ui-display_name = 显示名称
ui-draft_restored = 已恢复您未提交的内容。
ui-duty_base = 值守地点（纬度, 经度）
ui-edit = 编辑
ui-email = 电子邮箱
ui-expires_on = 有效期至
ui-export_csv = 导出 CSV
ui-features_in_cell = 此处 { $count } 个
ui-footer_attribution = 网格应急——开源的基层应急管理平台。边界数据：GaryBikini/ChinaAdminDivisonSHP（MIT）。地图数据 © OpenStreetMap 贡献者（ODbL）。
ui-home = 住址
ui-jurisdiction = 所属辖区
ui-jurisdiction_tree = 辖区树
ui-kind = 类型
ui-language = 语言
ui-language_en = English
ui-language_zh = 中文
ui-leader = 负责人
ui-level = 层级
ui-lists = 列表
ui-live_events = 实时动态
ui-loading = 加载中…
ui-main_navigation = 主导航
ui-map = 地图
ui-map_attribution = 边界：ChinaAdminDivisonSHP（MIT）· © OpenStreetMap 贡献者
ui-map_layers = 地图图层
ui-map_libraries_missing = 构建 Gridline 时缺少地图组件：请安装 Node.js 与 npm 后重新构建。
ui-map_note = 地图由本系统自有数据绘制，不依赖外部地图服务。
ui-members = 成员
ui-members_here = 本辖区成员
ui-mode = 运行状态
ui-mode_banner = { $name }：{ $mode }
ui-name = 名称
ui-name_en = 英文名称
ui-name_zh = 中文名称
ui-nav_account = 我的账号
ui-nav_accounts = 账号管理
ui-nav_console = 指挥台
ui-nav_jurisdictions = 辖区
ui-nav_members = 成员
ui-nav_organizations = 组织
ui-nav_teams = 队伍
ui-new_account = 新建账号
ui-new_member = 登记成员
ui-new_organization = 新增组织
ui-new_password = 新密码（至少 10 个字符）
ui-new_team = 新建队伍
ui-next_page = 下一页
ui-no_credentials = 暂无资质记录。
ui-no_events_yet = 打开本页以来暂无新动态。
ui-no_jurisdictions_yet = 尚无辖区。可用命令导入边界：gridline import boundaries 文件 --level district
ui-nothing_found = 没有找到记录。
ui-offline = 当前离线。您填写的内容会保存在本机，联网后可继续提交。
ui-open_details = 查看详情
ui-organization = 所属组织
ui-organizations_here = 本辖区组织
ui-pagination = 分页
ui-password = 密码
ui-personal_masked = 个人信息已隐去。如需查看，请说明用途；查看行为将被记录。
ui-personal_revealed = 已按您说明的用途显示个人信息；本次查看已记入审计日志。
ui-phone = 电话
ui-please_fix = 请更正以下内容：
ui-position_help = 纬度与经度，以逗号分隔，例如 31.2304, 121.4737。
ui-previous_page = 上一页
ui-reconnecting = 正在重新连接…
ui-reveal = 查看个人信息
ui-reveal_purpose = 查看用途
ui-revoke = 吊销
ui-revoked = 已吊销
ui-role = 角色
ui-roles = 角色
ui-save = 保存
ui-search = 搜索
ui-sector = 行业领域
ui-showing = 第 { $first }–{ $last } 条，共 { $total } 条
ui-sign_in = 登录
ui-sign_out = 退出
ui-skills = 技能
ui-skills_help = 技能编码，以逗号分隔，例如 first_aid, boat_handling。
ui-skip_to_content = 跳到正文
ui-state = 状态
ui-status = 状态
ui-sub_jurisdictions = 下级辖区
ui-sub_jurisdictions_count = 下级 { $count } 个
ui-switch_language = 切换语言
ui-team_members = 成员（{ $count }）
ui-teams_here = 本辖区队伍
ui-tier = 梯队
ui-timezone = 时区
ui-token_name = 令牌用途
ui-token_prefix = 开头
ui-token_shown_once = 请立即复制令牌，它不会再次显示：
ui-updated_at = 最后修改
ui-username = 用户名

## Kinds of events, in the live ticker.
event-jurisdiction-created = 新增辖区
event-jurisdiction-updated = 辖区已修改
event-jurisdiction-deleted = 辖区已删除
event-organization-created = 新增组织
event-organization-updated = 组织已修改
event-organization-deleted = 组织已删除
event-member-created = 新登记成员
event-member-updated = 成员信息已修改
event-member-deleted = 成员已删除
event-team-created = 新建队伍
event-team-updated = 队伍已修改
event-team-deleted = 队伍已删除
event-account-created = 新建账号
event-account-updated = 账号已修改
event-account-granted = 已授予角色
event-account-grant_revoked = 已撤销角色
event-layer-imported = 地图图层已导入
