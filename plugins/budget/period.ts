/** Budget strings and calendar periods live in the kernel (`parseBudget`), so the admin API checks a runtime key's budget the same way. */
export { calendarPeriod, parseBudget, type Budget, type BudgetItem, type CalendarPeriod } from '../../src/index.ts'
